use super::*;
use crate::events::hub::NewEvent;

fn record(seq: u64, topic: &str, event: Option<&str>, data: &str) -> (Record, Vec<u8>) {
    record_of(seq, topic, event, data, false)
}

fn record_of(seq: u64, topic: &str, event: Option<&str>, data: &str, private: bool) -> (Record, Vec<u8>) {
    let mut bytes = Vec::new();
    encode_record(seq, &NewEvent::on(&[topic], event, data, private), &mut bytes);
    let (topic, event, data) = (topic.to_owned(), event.map(str::to_owned), data.to_owned());
    (Record { seq, topic, alternates: Vec::new(), label: None, retry: None, event, data, private }, bytes)
}

#[test]
fn alternates_a_publishers_id_and_a_retry_round_trip_in_the_extras() {
    let topics = ["https://example.com/books/1", "https://example.com/books", "books"];
    let new = NewEvent {
        topics: &topics,
        event: Some("update"),
        data: "{\"title\":\"x\"}",
        private: true,
        label: Some("urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8"),
        retry: Some(2500),
    };
    let mut bytes = Vec::new();
    encode_record(9, &new, &mut bytes);
    let expected = Record {
        seq: 9,
        topic: topics[0].to_owned(),
        alternates: vec![topics[1].to_owned(), topics[2].to_owned()],
        label: Some("urn:uuid:6ba7b810-9dad-41d1-80b4-00c04fd430c8".to_owned()),
        retry: Some(2500),
        event: Some("update".to_owned()),
        data: "{\"title\":\"x\"}".to_owned(),
        private: true,
    };
    assert_eq!(decode_record(&bytes), Ok(Decoded::Whole(expected, bytes.len())));
    assert_eq!(verify_record(&bytes), Ok(Decoded::Whole(9, bytes.len())));
    // Every proper prefix is a torn write, never garbage.
    for end in 0..bytes.len() {
        assert_eq!(decode_record(&bytes[..end]), Ok(Decoded::Incomplete), "{end} bytes");
    }
    // Every flipped byte is caught by the checksum.
    for at in RECORD_PREFIX_BYTES..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x20;
        assert_eq!(decode_record(&flipped), Err(RecordError::BadChecksum), "byte {at}");
    }
}

#[test]
fn private_records_round_trip_and_a_version_1_segment_still_reads() {
    let (expected, bytes) = record_of(7, "users/42", Some("order"), "shipped", true);
    assert_eq!(decode_record(&bytes), Ok(Decoded::Whole(expected, bytes.len())));
    // A record written before private events existed reads as public.
    let (public, bytes) = record(8, "users/42", None, "hello");
    assert_eq!(decode_record(&bytes), Ok(Decoded::Whole(public.clone(), bytes.len())));
    assert!(!public.private);
    for version in [VERSION_WITHOUT_PRIVATE, VERSION] {
        let mut header = Vec::new();
        encode_header(Header { run: 1, first_seq: 1 }, &mut header);
        header[8..12].copy_from_slice(&version.to_le_bytes());
        assert!(matches!(decode_header(&header), Ok(Decoded::Whole(..))), "version {version}");
    }
}

#[test]
fn crc32_matches_the_standard_check_value() {
    // The check value of CRC-32/ISO-HDLC for "123456789".
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b""), 0);
}

#[test]
fn records_round_trip() {
    for (seq, topic, event, data) in [
        (1, "default", None, ""),
        (2, "room/a", Some("reading"), "21.5\n21.7"),
        (u64::MAX, "t", Some(""), "ünïcode"),
    ] {
        let (expected, bytes) = record(seq, topic, event, data);
        assert_eq!(decode_record(&bytes), Ok(Decoded::Whole(expected, bytes.len())));
        assert_eq!(record_len(&bytes), Ok(Decoded::Whole((), bytes.len())));
        assert_eq!(verify_record(&bytes), Ok(Decoded::Whole(seq, bytes.len())));
    }
    let (_, smallest) = record(1, "t", None, "");
    assert_eq!(smallest.len(), MIN_RECORD_BYTES);
}

#[test]
fn every_proper_prefix_of_a_record_or_header_is_incomplete() {
    let (_, bytes) = record(7, "room/a", Some("reading"), "21.5");
    for end in 0..bytes.len() {
        assert_eq!(decode_record(&bytes[..end]), Ok(Decoded::Incomplete), "{end} bytes");
        assert_eq!(verify_record(&bytes[..end]), Ok(Decoded::Incomplete), "{end} bytes");
    }
    let mut header = Vec::new();
    encode_header(Header { run: 1_795_633_887_897, first_seq: 1 }, &mut header);
    for end in 0..header.len() {
        assert_eq!(decode_header(&header[..end]), Ok(Decoded::Incomplete), "{end} bytes");
    }
    assert_eq!(
        decode_header(&header),
        Ok(Decoded::Whole(Header { run: 1_795_633_887_897, first_seq: 1 }, HEADER_BYTES))
    );
}

#[test]
fn damaged_bytes_are_named_errors() {
    let (_, bytes) = record(7, "room/a", Some("reading"), "21.5");
    // Any single flipped byte in the body breaks the checksum.
    for at in RECORD_PREFIX_BYTES..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x40;
        assert_eq!(decode_record(&flipped), Err(RecordError::BadChecksum), "byte {at}");
        assert_eq!(verify_record(&flipped), Err(RecordError::BadChecksum), "byte {at}");
    }
    let mut wrong_crc = bytes.clone();
    wrong_crc[4] ^= 1;
    assert_eq!(decode_record(&wrong_crc), Err(RecordError::BadChecksum));
    let huge = [0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0];
    assert_eq!(decode_record(&huge), Err(RecordError::BadLength(0x7FFF_FFFF)));
    assert_eq!(decode_record(&[0; 8]), Err(RecordError::BadLength(0)));
    // A checksum that holds over fields that do not.
    let mut body = vec![0u8; 20];
    body[8] = 200; // a topic longer than the body
    let mut lying = Vec::new();
    lying.extend_from_slice(&(body.len() as u32).to_le_bytes());
    lying.extend_from_slice(&crc32(&body).to_le_bytes());
    lying.extend_from_slice(&body);
    assert_eq!(decode_record(&lying), Err(RecordError::BadFields));
    assert_eq!(verify_record(&lying), Err(RecordError::BadFields));
    // Headers.
    assert_eq!(decode_header(b"GARBAGE!whatever"), Err(RecordError::NotAJournal));
    assert_eq!(decode_header(b"x"), Err(RecordError::NotAJournal));
    let mut future = Vec::new();
    encode_header(Header { run: 1, first_seq: 1 }, &mut future);
    future[8] = 9;
    assert_eq!(decode_header(&future), Err(RecordError::UnknownVersion(9)));
}

#[test]
fn a_torn_write_is_told_from_a_damaged_length() {
    let (_, bytes) = record(7, "room/a", Some("reading"), "21.5");
    // Every proper prefix of a record is a torn write, for its own seq.
    for end in 0..bytes.len() {
        assert_eq!(torn_write(&bytes[..end], 7), Ok(()), "{end} bytes");
    }
    // A seq that goes backwards is not.
    assert_eq!(torn_write(&bytes[..30], 8), Err(RecordError::PastTheEnd(30)));
    // A whole record whose length now runs past the end is not either,
    // whichever bit of the length flipped.
    for bit in 0..26 {
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        if let Ok(Decoded::Incomplete) = record_len(&damaged) {
            assert_eq!(torn_write(&damaged, 7), Err(RecordError::PastTheEnd(bytes.len())), "bit {bit}");
        }
    }
}
