//! Every wire type decoded from arbitrary bytes: no panic. What decodes must
//! encode again (the server stores a received snapshot as JSON; an encoding
//! failure there would be a 500) and decode again; types without floats must
//! come back equal (serde_json's float parsing is not bit-exact, so those with
//! floats are only checked to decode).
#![no_main]

use handraise_wire as w;
use libfuzzer_sys::fuzz_target;

fn roundtrip<T>(data: &[u8], exact: bool)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let again = serde_json::to_vec(&v).expect("a decoded value encodes");
        let back: T = serde_json::from_slice(&again).expect("an encoded value decodes");
        if exact {
            assert_eq!(v, back);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the type, so the corpus of one does not crowd out
    // the others.
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 16 {
        0 => roundtrip::<w::NewTicket>(rest, false),
        1 => roundtrip::<w::UpdatesPage>(rest, true),
        2 => roundtrip::<w::KbChanges>(rest, true),
        3 => roundtrip::<w::EnrollRequest>(rest, true),
        4 => roundtrip::<w::EnrollResponse>(rest, true),
        5 => roundtrip::<w::NewMessage>(rest, true),
        6 => roundtrip::<w::TicketReceipt>(rest, true),
        7 => roundtrip::<w::DeviceTicket>(rest, true),
        8 => roundtrip::<w::AnnouncementList>(rest, true),
        9 => roundtrip::<w::ApiError>(rest, true),
        10 => roundtrip::<w::DeviceSnapshot>(rest, false),
        11 => roundtrip::<w::TechTicket>(rest, false),
        12 => roundtrip::<w::ArticleInput>(rest, true),
        13 => roundtrip::<w::AnnouncementInput>(rest, true),
        14 => {
            roundtrip::<w::StatusChangeRequest>(rest, true);
            roundtrip::<w::AssignRequest>(rest, true);
            roundtrip::<w::ReplyRequest>(rest, true);
        }
        _ => {
            roundtrip::<w::ScreenshotReceipt>(rest, true);
            roundtrip::<w::MessageReceipt>(rest, true);
            roundtrip::<w::Health>(rest, true);
        }
    }
});
