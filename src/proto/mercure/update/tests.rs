use super::*;

const BOOK: &str = "https://example.com/books/1";

fn parse(body: &str) -> Result<Update, UpdateError> {
    parse_update(body.as_bytes(), 4)
}

fn book(change: impl FnOnce(&mut Update)) -> Result<Update, UpdateError> {
    let mut update = Update {
        topics: vec![BOOK.to_owned()],
        data: String::new(),
        id: None,
        event_type: None,
        retry: None,
        private: false,
    };
    change(&mut update);
    Ok(update)
}

#[test]
fn the_module_docs_example() {
    let body = "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=https%3A%2F%2Fexample.com%2Fauthors%2F7\
                &data=%7B%22title%22%3A%22Dune%22%7D&id=urn%3Auuid%3A1&type=book&retry=5000&private=on";
    let expected = Update {
        topics: vec![BOOK.to_owned(), "https://example.com/authors/7".to_owned()],
        data: r#"{"title":"Dune"}"#.to_owned(),
        id: Some("urn:uuid:1".to_owned()),
        event_type: Some("book".to_owned()),
        retry: Some(5000),
        private: true,
    };
    assert_eq!(parse(body), Ok(expected));
}

#[test]
fn rule_3_form_decoding_and_unknown_fields() {
    // rule 3
    let cases = [
        ("topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&data=a+b%2Bc", book(|u| u.data = "a b+c".to_owned())),
        // pymercure's old `target`, and anything else, is ignored.
        ("target=x&topic=https://example.com/books/1&foo", book(|_| {})),
        ("topic=https://example.com/books/1&data=%zz", Err(UpdateError::Form(FormError::BadPercentEncoding))),
        ("topic=https://example.com/books/1&data=%FF", Err(UpdateError::Form(FormError::NotUtf8))),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), expected, "{body:?}");
    }
}

#[test]
fn rule_4_topics_canonical_first_at_least_one() {
    // rule 4
    let cases = [
        (
            "topic=https://example.com/books/1&topic=b&topic=c",
            book(|u| u.topics.extend(["b".into(), "c".into()])),
        ),
        ("topic=b&topic=https://example.com/books/1", book(|u| u.topics = vec!["b".into(), BOOK.into()])),
        // A repeated topic counts once, where it was first sent.
        (
            "topic=https://example.com/books/1&topic=b&topic=https://example.com/books/1",
            book(|u| u.topics.push("b".into())),
        ),
        (
            "topic=a&topic=b&topic=c&topic=d&topic=a&topic=d",
            book(|u| u.topics = ["a", "b", "c", "d"].map(String::from).to_vec()),
        ),
        ("topic=a&topic=b&topic=c&topic=d&topic=e", Err(UpdateError::TooManyTopics { limit: 4 })),
        ("data=x", Err(UpdateError::MissingTopic)),
        ("", Err(UpdateError::MissingTopic)),
        ("Topic=a", Err(UpdateError::MissingTopic)),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), expected, "{body:?}");
    }
}

#[test]
fn rule_5_data_defaults_to_empty_and_keeps_its_bytes() {
    // rule 5
    let cases = [
        ("topic=https://example.com/books/1", book(|_| {})),
        ("topic=https://example.com/books/1&data=", book(|_| {})),
        (
            "topic=https://example.com/books/1&data=+a%0D%0Ab%0Dc%0A%00",
            book(|u| u.data = " a\r\nb\rc\n\0".into()),
        ),
        ("topic=https://example.com/books/1&data=first&data=second", book(|u| u.data = "first".into())),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), expected, "{body:?}");
    }
}

#[test]
fn rule_6_id_verbatim_or_none_first_wins() {
    // rule 6
    let cases = [
        (
            "topic=https://example.com/books/1&id=urn%3Auuid%3Aabc",
            book(|u| u.id = Some("urn:uuid:abc".into())),
        ),
        ("topic=https://example.com/books/1&id=+%20a+", book(|u| u.id = Some("  a ".into()))),
        ("topic=https://example.com/books/1&id=", book(|_| {})),
        ("topic=https://example.com/books/1&id=1&id=2", book(|u| u.id = Some("1".into()))),
        // The ignored second id is not checked.
        ("topic=https://example.com/books/1&id=1&id=%0A", book(|u| u.id = Some("1".into()))),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), expected, "{body:?}");
    }
}

#[test]
fn rule_7_type_retry_private() {
    // rule 7
    let cases = [
        (
            "topic=https://example.com/books/1&type=book+update",
            book(|u| u.event_type = Some("book update".into())),
        ),
        ("topic=https://example.com/books/1&type=", book(|_| {})),
        ("topic=https://example.com/books/1&retry=0", book(|u| u.retry = Some(0))),
        ("topic=https://example.com/books/1&retry=18446744073709551615", book(|u| u.retry = Some(u64::MAX))),
        ("topic=https://example.com/books/1&retry=", book(|_| {})),
        ("topic=https://example.com/books/1&retry=18446744073709551616", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=-1", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=%2B1", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=+1", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=1_000", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=1e3", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=%D9%A1", Err(UpdateError::Retry)),
        ("topic=https://example.com/books/1&retry=5&retry=x", book(|u| u.retry = Some(5))),
        ("topic=https://example.com/books/1&private=on", book(|u| u.private = true)),
        ("topic=https://example.com/books/1&private=", book(|u| u.private = true)),
        ("topic=https://example.com/books/1&private", book(|u| u.private = true)),
        ("topic=https://example.com/books/1&private=false", book(|u| u.private = true)),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), expected, "{body:?}");
    }
}

#[test]
fn rule_8_line_breaks_and_nul_in_id_or_type_are_refused() {
    // rule 8
    let cases = [
        ("topic=https://example.com/books/1&id=a%0Db", UpdateError::Id(FieldError::LineBreak)),
        ("topic=https://example.com/books/1&id=a%0Ab", UpdateError::Id(FieldError::LineBreak)),
        ("topic=https://example.com/books/1&id=a%00", UpdateError::Id(FieldError::Nul)),
        ("topic=https://example.com/books/1&type=a%0D%0A", UpdateError::EventType(FieldError::LineBreak)),
        ("topic=https://example.com/books/1&type=%00", UpdateError::EventType(FieldError::Nul)),
        // An id goes back in a response header too: no control character.
        ("topic=https://example.com/books/1&id=a%09b", UpdateError::IdControlCharacter('\t')),
        ("topic=https://example.com/books/1&id=%1B%5B31m", UpdateError::IdControlCharacter('\u{1b}')),
        ("topic=https://example.com/books/1&id=a%7F", UpdateError::IdControlCharacter('\u{7f}')),
        ("topic=https://example.com/books/1&id=a%C2%85", UpdateError::IdControlCharacter('\u{85}')),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(body), Err(expected), "{body:?}");
        assert_eq!(expected.status(), 400);
    }
}

#[test]
fn rule_12_published_topics_follow_the_iri_rule() {
    // rule 12
    let long = "a".repeat(crate::proto::mercure::iri::MAX_IRI_BYTES + 1);
    let cases = [
        ("topic=https%3A%2F%2Fexample.com%2Fs%3Fq%3Da%26b%3D1%2523x".to_owned(), Ok(())),
        ("topic=".to_owned(), Err(UpdateError::Topic(IriError::Empty))),
        ("topic".to_owned(), Err(UpdateError::Topic(IriError::Empty))),
        (format!("topic={long}"), Err(UpdateError::Topic(IriError::TooLong))),
        ("topic=ok&topic=a%0Ab".to_owned(), Err(UpdateError::Topic(IriError::ControlCharacter('\n')))),
        ("topic=a%C2%85".to_owned(), Err(UpdateError::Topic(IriError::ControlCharacter('\u{85}')))),
    ];
    for (body, expected) in cases {
        assert_eq!(parse(&body).map(|_| ()), expected, "{body:?}");
    }
}

#[test]
fn errors_are_400_short_and_never_echo_the_input() {
    let huge_id = format!("topic=t&id={}%0A", "x".repeat(10_000));
    let huge_topic = format!("topic={}", "x".repeat(100_000));
    for body in [huge_id.as_str(), &huge_topic, "topic=t&retry=99999999999999999999999", "data=1"] {
        let Err(error) = parse(body) else { panic!("{body:.40} should be refused") };
        assert_eq!(error.status(), 400);
        let message = error.to_string();
        assert!(message.len() < 80 && message == message.to_lowercase(), "{message}");
    }
}
