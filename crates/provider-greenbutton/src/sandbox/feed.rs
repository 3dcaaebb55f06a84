//! The ESPI documents the emulator serves: a Subscription feed with one day of hourly
//! readings, and the Authorization resource describing a grant. Small, but valid Atom with
//! the ESPI namespace, so an app's parser sees the shapes a utility sends.

use std::time::{SystemTime, UNIX_EPOCH};

use utilconnect_sandbox::{escape_html, rfc3339};

/// One day of hourly interval readings (Wh) for the sandbox customer.
const HOURLY_WH: [u32; 24] = [
    310, 290, 280, 275, 270, 300, 420, 610, 540, 380, 350, 360, 370, 355, 365, 390, 520, 780, 860,
    820, 700, 560, 430, 350,
];

/// The Subscription feed at `resource_uri`, dated `now`.
pub(crate) fn subscription_feed(
    resource_uri: &str,
    subscription_id: &str,
    now: SystemTime,
) -> String {
    let updated = rfc3339(now);
    let day_start = epoch_secs(now) / 86_400 * 86_400 - 86_400;
    let readings: String = HOURLY_WH
        .iter()
        .enumerate()
        .map(|(hour, wh)| {
            format!(
                "          <espi:IntervalReading><espi:timePeriod><espi:duration>3600</espi:duration><espi:start>{}</espi:start></espi:timePeriod><espi:value>{wh}</espi:value></espi:IntervalReading>\n",
                day_start + hour as u64 * 3600
            )
        })
        .collect();
    let uri = escape_html(resource_uri);
    let id = escape_html(subscription_id);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
  <id>urn:uuid:sandbox-subscription-{id}</id>
  <title>Green Button Subscription Feed</title>
  <updated>{updated}</updated>
  <link rel="self" href="{uri}"/>
  <entry>
    <id>urn:uuid:sandbox-usage-point-{id}</id>
    <link rel="self" href="{uri}/UsagePoint/1"/>
    <title>Sandbox home</title>
    <updated>{updated}</updated>
    <content>
      <espi:UsagePoint><espi:ServiceCategory><espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint>
    </content>
  </entry>
  <entry>
    <id>urn:uuid:sandbox-reading-type-{id}</id>
    <link rel="self" href="{uri}/ReadingType/1"/>
    <title>Hourly energy delivered (Wh)</title>
    <updated>{updated}</updated>
    <content>
      <espi:ReadingType><espi:accumulationBehaviour>4</espi:accumulationBehaviour><espi:commodity>1</espi:commodity><espi:flowDirection>1</espi:flowDirection><espi:intervalLength>3600</espi:intervalLength><espi:kind>12</espi:kind><espi:powerOfTenMultiplier>0</espi:powerOfTenMultiplier><espi:uom>72</espi:uom></espi:ReadingType>
    </content>
  </entry>
  <entry>
    <id>urn:uuid:sandbox-interval-block-{id}</id>
    <link rel="self" href="{uri}/UsagePoint/1/MeterReading/1/IntervalBlock/1"/>
    <title>Yesterday</title>
    <updated>{updated}</updated>
    <content>
      <espi:IntervalBlock>
        <espi:interval><espi:duration>86400</espi:duration><espi:start>{day_start}</espi:start></espi:interval>
{readings}      </espi:IntervalBlock>
    </content>
  </entry>
</feed>
"#
    )
}

/// The Authorization resource of a grant (ESPI status 1: active).
pub(crate) fn authorization_entry(
    authorization_uri: &str,
    resource_uri: &str,
    scope: &str,
    now: SystemTime,
) -> String {
    let updated = rfc3339(now);
    let (auth, resource, scope) = (
        escape_html(authorization_uri),
        escape_html(resource_uri),
        escape_html(scope),
    );
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<entry xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">
  <id>urn:uuid:sandbox-authorization</id>
  <link rel="self" href="{auth}"/>
  <title>Green Button authorization</title>
  <updated>{updated}</updated>
  <content>
    <espi:Authorization>
      <espi:status>1</espi:status>
      <espi:scope>{scope}</espi:scope>
      <espi:resourceURI>{resource}</espi:resourceURI>
      <espi:authorizationURI>{auth}</espi:authorizationURI>
    </espi:Authorization>
  </content>
</entry>
"#
    )
}

fn epoch_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
