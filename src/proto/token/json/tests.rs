use super::*;

fn string(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn number(text: &str) -> Value {
    Value::Number(Number(text.to_owned()))
}

fn object(members: &[(&str, Value)]) -> Value {
    Value::Object(members.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect())
}

#[test]
fn accepted_texts_and_their_values() {
    let cases: Vec<(&str, Value)> = vec![
        ("null", Value::Null),
        (" true ", Value::Bool(true)),
        ("\t\r\nfalse\n", Value::Bool(false)),
        ("0", number("0")),
        ("-0", number("-0")),
        ("1700000000", number("1700000000")),
        ("1700000000.5", number("1700000000.5")),
        ("1.7E+9", number("1.7E+9")),
        ("2e-3", number("2e-3")),
        (r#""""#, string("")),
        (r#""a\"b\\c\/d""#, string("a\"b\\c/d")),
        (r#""\b\f\n\r\t""#, string("\u{8}\u{c}\n\r\t")),
        (r#""\u00e9\u00E9é""#, string("ééé")),
        (r#""\ud83d\ude00""#, string("😀")),
        (r#""\u0000""#, string("\0")),
        ("\"\u{7f}\"", string("\u{7f}")),
        ("[]", Value::Array(vec![])),
        ("[1, [2], {}]", Value::Array(vec![number("1"), Value::Array(vec![number("2")]), object(&[])])),
        ("{}", object(&[])),
        (r#"{"a":1,"b":[null]}"#, object(&[("a", number("1")), ("b", Value::Array(vec![Value::Null]))])),
        // What PyJWT writes for a Mercure subscriber.
        (
            r#"{"exp":1700000000,"mercure":{"subscribe":["https:\/\/example.com\/books\/{id}"],"payload":{"user":"\u00e9"}}}"#,
            object(&[
                ("exp", number("1700000000")),
                (
                    "mercure",
                    object(&[
                        ("subscribe", Value::Array(vec![string("https://example.com/books/{id}")])),
                        ("payload", object(&[("user", string("é"))])),
                    ]),
                ),
            ]),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text.as_bytes()), Ok(expected), "{text}");
    }
}

#[test]
fn refused_texts_name_what_is_wrong() {
    let cases: &[(&[u8], JsonError)] = &[
        (b"", JsonError::UnexpectedEnd),
        (b"   ", JsonError::UnexpectedEnd),
        (b"[1,]", JsonError::UnexpectedByte),
        (b"{\"a\":1,}", JsonError::UnexpectedByte),
        (b"[1 2]", JsonError::UnexpectedByte),
        (b"{\"a\" 1}", JsonError::UnexpectedByte),
        (b"{a:1}", JsonError::UnexpectedByte),
        (b"{'a':1}", JsonError::UnexpectedByte),
        (b"['a']", JsonError::UnexpectedByte),
        (b"[1] // comment", JsonError::TrailingData),
        (b"/* c */ 1", JsonError::UnexpectedByte),
        (b"NaN", JsonError::UnexpectedByte),
        (b"Infinity", JsonError::UnexpectedByte),
        (b"-Infinity", JsonError::BadNumber),
        (b"+1", JsonError::UnexpectedByte),
        (b"01", JsonError::BadNumber),
        (b"-01", JsonError::BadNumber),
        (b"1.", JsonError::BadNumber),
        (b".5", JsonError::UnexpectedByte),
        (b"1e", JsonError::BadNumber),
        (b"1e+", JsonError::BadNumber),
        (b"0x10", JsonError::TrailingData),
        (b"tru", JsonError::UnexpectedEnd),
        (b"True", JsonError::UnexpectedByte),
        (b"nul1", JsonError::UnexpectedByte),
        (b"1 2", JsonError::TrailingData),
        (b"{} x", JsonError::TrailingData),
        (b"\"abc", JsonError::UnexpectedEnd),
        (b"\"a\tb\"", JsonError::ControlInString),
        (b"\"a\nb\"", JsonError::ControlInString),
        (b"\"\\x41\"", JsonError::BadEscape),
        (b"\"\\u12g4\"", JsonError::BadEscape),
        (b"\"\\u12", JsonError::UnexpectedEnd),
        (b"\"\\ud83d\"", JsonError::LoneSurrogate),
        (b"\"\\ud83d\\u0041\"", JsonError::LoneSurrogate),
        (b"\"\\ude00\"", JsonError::LoneSurrogate),
        (b"\"\\ud83dx\"", JsonError::LoneSurrogate),
        (b"\"\xff\"", JsonError::NotUtf8),
        (b"\"\xc3\"", JsonError::NotUtf8),
        (b"\"\xed\xa0\x80\"", JsonError::NotUtf8),
        (b"\xef\xbb\xbf{}", JsonError::UnexpectedByte),
        (b"{\"a\":1,\"a\":2}", JsonError::DuplicateKey),
        (b"{\"a\":1,\"\\u0061\":2}", JsonError::DuplicateKey),
        (b"{\"x\":{\"b\":1,\"c\":2,\"b\":3}}", JsonError::DuplicateKey),
    ];
    for &(text, expected) in cases {
        assert_eq!(parse(text), Err(expected), "{:?}", String::from_utf8_lossy(text));
    }
}

#[test]
fn the_same_key_in_different_objects_is_fine() {
    assert!(parse(br#"{"a":{"a":1},"b":{"a":2}}"#).is_ok());
}

#[test]
fn depth_limit_is_exact() {
    for (open, close) in [("[", "]"), ("{\"k\":", "}")] {
        let at_limit = format!("{}0{}", open.repeat(MAX_JSON_DEPTH), close.repeat(MAX_JSON_DEPTH));
        assert!(parse(at_limit.as_bytes()).is_ok(), "{open} at the limit");
        let over = format!("{}0{}", open.repeat(MAX_JSON_DEPTH + 1), close.repeat(MAX_JSON_DEPTH + 1));
        assert_eq!(parse(over.as_bytes()), Err(JsonError::TooDeep), "{open} one past");
    }
    // Deep input that never closes is refused by depth, not by exhausting the stack.
    assert_eq!(parse("[".repeat(MAX_JSON_BYTES).as_bytes()), Err(JsonError::TooDeep));
}

#[test]
fn size_limit_is_exact() {
    let filler = |length: usize| format!("\"{}\"", "a".repeat(length - 2));
    assert!(parse(filler(MAX_JSON_BYTES).as_bytes()).is_ok());
    assert_eq!(parse(filler(MAX_JSON_BYTES + 1).as_bytes()), Err(JsonError::TooLarge));
}

#[test]
fn many_keys_are_checked_for_duplicates_quickly() {
    let members: Vec<String> = (0..1000).map(|n| format!("\"{n}\":0")).collect();
    let text = format!("{{{}}}", members.join(","));
    assert!(text.len() <= MAX_JSON_BYTES);
    assert!(parse(text.as_bytes()).is_ok());
    let duplicated = format!("{{{},\"7\":1}}", members[..900].join(","));
    assert_eq!(parse(duplicated.as_bytes()), Err(JsonError::DuplicateKey));
}

#[test]
fn numeric_dates_from_integers_fractions_and_exponents() {
    let date = |seconds, fractional| Some(NumericDate { seconds, fractional });
    let cases: &[(&str, Option<NumericDate>)] = &[
        ("0", date(0, false)),
        ("1700000000", date(1_700_000_000, false)),
        ("1700000000.5", date(1_700_000_000, true)),
        ("1700000000.000", date(1_700_000_000, false)),
        ("0.999", date(0, true)),
        ("1.7e9", date(1_700_000_000, false)),
        ("1.7E+9", date(1_700_000_000, false)),
        ("17000000005e-1", date(1_700_000_000, true)),
        ("17e-1", date(1, true)),
        ("1e-400", date(0, true)),
        ("0e99999999999999999999", date(0, false)),
        ("18446744073709551615", date(u64::MAX, false)),
        ("18446744073709551616", None),
        ("99999999999999999999999", None),
        ("1e400", None),
        ("1e99999999999999999999", None),
        ("-1", None),
        ("-0", None),
        ("-1700000000.5", None),
    ];
    for &(text, expected) in cases {
        let Ok(Value::Number(parsed)) = parse(text.as_bytes()) else { panic!("{text} is a number") };
        assert_eq!(parsed.as_str(), text);
        assert_eq!(parsed.as_numeric_date(), expected, "{text}");
    }
}

#[test]
fn get_reads_object_members_only() {
    let value = parse(br#"{"a":1}"#).ok();
    assert_eq!(value.as_ref().and_then(|v| v.get("a")), Some(&number("1")));
    assert_eq!(value.as_ref().and_then(|v| v.get("b")), None);
    assert_eq!(Value::Array(vec![]).get("a"), None);
}

#[test]
fn errors_read_as_short_lowercase_phrases() {
    let all = [
        JsonError::TooLarge,
        JsonError::TooDeep,
        JsonError::NotUtf8,
        JsonError::UnexpectedEnd,
        JsonError::UnexpectedByte,
        JsonError::BadEscape,
        JsonError::LoneSurrogate,
        JsonError::ControlInString,
        JsonError::BadNumber,
        JsonError::DuplicateKey,
        JsonError::TrailingData,
    ];
    for error in all {
        let message = error.to_string();
        assert!(message.len() < 50 && !message.ends_with('.'), "{message}");
        assert!(!message.chars().any(|c| c.is_ascii_uppercase()), "{message}");
    }
}

/// Random bytes, and valid documents with random bytes changed, never
/// panic; fixed seed, bounded count.
#[test]
fn random_input_never_panics() {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seed = br#"{"exp":1700000000.5,"a":[true,false,null,"\u00e9\ud83d\ude00\/"],"b":{"c":-1e5}}"#;
    let alphabet = b"{}[]\":,.-+eE0123456789tfnul\\/ \x00\x1f\x7f\xc3\xa9\xff";
    for round in 0..20_000 {
        let mut bytes = if round % 2 == 0 {
            seed.to_vec()
        } else {
            (0..next() % 64).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect()
        };
        for _ in 0..(next() % 4) {
            if bytes.is_empty() {
                break;
            }
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] = alphabet[(next() % alphabet.len() as u64) as usize];
        }
        if let Ok(Value::Number(number)) = parse(&bytes) {
            let _ = number.as_numeric_date();
        }
    }
}

#[test]
fn quoted_text_reads_back_as_itself() {
    for text in
        ["", "plain", "a\"b", "back\\slash", "line\nbreak\r\t", "\u{1}\u{1f}", "ünïcode ✓", "</script>"]
    {
        let quoted = quote(text);
        assert_eq!(parse(quoted.as_bytes()), Ok(Value::String(text.to_owned())), "{quoted}");
    }
}
