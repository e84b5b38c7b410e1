//! `/dev/kmsg` records: `prio,seq,usec_since_boot,flags[,...];text` plus continuation
//! lines starting with a space.

/// One kmsg record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsgRecord {
    /// Syslog priority (low 3 bits) and facility (rest), as in the first field.
    pub prio: u32,
    /// 64-bit sequence number.
    pub seq: u64,
    /// Microseconds since boot (monotonic).
    pub usec: u64,
    /// Flags field (`-` or `c`).
    pub flags: String,
    /// Message text with `\xNN` escapes decoded.
    pub text: String,
}

/// Parses one record (as returned by one `read()`, continuation lines allowed);
/// None when it is not a kmsg record.
pub fn parse_record(record: &str) -> Option<KmsgRecord> {
    let _ = record;
    todo!("parser helper implements")
}
