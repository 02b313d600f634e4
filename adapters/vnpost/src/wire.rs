//! NGSP messages. Field names are VNPost's (`OrderNumber`, `ReceiverProvince`, …) and stay at
//! this edge; the gateway's canonical postal order maps onto them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The create-order body (`apiPostOrder`). Both directions use it: result delivery (agency →
/// citizen) and dossier pickup (citizen → agency) only swap sender and receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Order {
    /// `CustomerCode`: the agency's VNPost customer code.
    pub customer_code: String,
    /// `OrderNumber`: the dossier number; VNPost's idempotency key.
    pub order_number: String,
    /// `CODAmount`: cash on delivery, `0.0` when none.
    #[serde(rename = "CODAmount")]
    pub cod_amount: f64,
    /// `SenderProvince`, `SenderDistrict`: VNPost postal codes (not GSO area codes).
    pub sender_province: i64,
    pub sender_district: i64,
    pub sender_address: String,
    pub sender_name: String,
    pub sender_email: String,
    pub sender_tel: String,
    /// `SenderDesc`: what is in the parcel.
    pub sender_desc: String,
    pub description: String,
    pub receiver_name: String,
    pub receiver_address: String,
    pub receiver_tel: String,
    pub receiver_email: String,
    pub receiver_province: i64,
    pub receiver_district: i64,
}

/// `{"Status": …, "Message": …}` answered by create and cancel. `Status` may come as a number
/// or a string; [`Answer::status`] gives its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(rename = "Status")]
    pub status_raw: Value,
    #[serde(rename = "Message", default)]
    pub message: String,
}

impl Answer {
    /// `Status` as text (`200` and `"200"` alike).
    pub fn status(&self) -> String {
        match &self.status_raw {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        }
    }
}

/// The token answer (WSO2 style).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub access_token: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default)]
    pub expires_in: u64,
}

fn bearer() -> String {
    "Bearer".into()
}

/// One tracking event (`_embedded["rh:doc"][]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `_id.$oid`: 24 hex digits; the cursor (`lastId`) of the next call.
    pub id: String,
    /// `CustomerCode`.
    pub customer_code: String,
    /// `OrderNumber`: the dossier number the order was made with.
    pub order_number: String,
    /// `ItemCode`: VNPost's item barcode.
    pub item_code: String,
    /// `EventTime` as sent (format undocumented).
    pub event_time: String,
    /// `POSID`: the post office.
    pub pos_id: String,
    /// `StatusCode` as text (`4` and `"4"` alike).
    pub status_code: String,
    /// `StatusMessage`.
    pub status_message: String,
    /// `Notes`.
    pub notes: String,
}

/// One page of the tracking list (RESTHeart paging).
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// `_size`: events after the cursor in all.
    pub size: u64,
    /// `_total_pages`.
    pub total_pages: u64,
    /// `_returned`: events on this page.
    pub returned: u64,
    pub events: Vec<Event>,
}

/// The cursor of the very first call.
pub const FIRST_ID: &str = "000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared sample order reads into [`Order`] and writes back the same JSON (skipped
    /// when `shared/` is not next to the repository).
    #[test]
    fn the_shared_order_sample_round_trips() {
        let Some(text) = crate::testkit::shared_sample("vnpost-order.json") else {
            return;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        let o: Order = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(o.order_number, "000.00.12.H99-20260302-0000123");
        assert_eq!(o.receiver_district, 9902);
        assert_eq!(serde_json::to_value(&o).unwrap(), v);
    }

    #[test]
    fn answers_and_tokens_read_leniently() {
        let a: Answer = serde_json::from_str(r#"{"Status": 200}"#).unwrap();
        assert_eq!((a.status(), a.message.as_str()), ("200".to_owned(), ""));
        let a: Answer = serde_json::from_str(r#"{"Status": "OK", "Message": "x"}"#).unwrap();
        assert_eq!(a.status(), "OK");
        let t: Token = serde_json::from_str(r#"{"access_token": "t"}"#).unwrap();
        assert_eq!((t.token_type.as_str(), t.expires_in), ("Bearer", 0));
    }
}
