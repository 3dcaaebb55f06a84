//! Green Button against its Data Custodian emulator.
use utilconnect_greenbutton as _;
