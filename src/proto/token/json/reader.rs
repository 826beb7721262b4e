//! The grammar of RFC 8259, one method per production, over text already
//! checked to be UTF-8 and within [`MAX_JSON_BYTES`](super::MAX_JSON_BYTES).
//!
//! ```text
//! value  = object / array / string / number / true / false / null
//! object = "{" [ member *( "," member ) ] "}"     member = string ":" value
//! array  = "[" [ value *( "," value ) ] "]"
//! ```

use super::{JsonError, Number, Value, MAX_JSON_DEPTH};

/// A cursor over text already checked to be UTF-8 and within the size limit.
pub(super) struct Reader<'a> {
    pub(super) text: &'a str,
    pub(super) at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    pub(super) fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Consumes `byte` after optional whitespace, or names what stood there.
    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(found) if found == byte => {
                self.at += 1;
                Ok(())
            }
            Some(_) => Err(JsonError::UnexpectedByte),
            None => Err(JsonError::UnexpectedEnd),
        }
    }

    /// One value; `depth` is how many arrays and objects enclose it.
    pub(super) fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(JsonError::UnexpectedEnd),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(_) => Err(JsonError::UnexpectedByte),
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        let rest = &self.text.as_bytes()[self.at..];
        if rest.starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else if word.as_bytes().starts_with(rest) {
            Err(JsonError::UnexpectedEnd)
        } else {
            Err(JsonError::UnexpectedByte)
        }
    }

    /// `{` members `}`; `depth` counts this object.
    fn object(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_JSON_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.at += 1; // the `{` that `value` saw
        let mut members: Vec<(String, Value)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(JsonError::UnexpectedByte),
                None => return Err(JsonError::UnexpectedEnd),
            }
            let key = self.string()?;
            self.expect(b':')?;
            members.push((key, self.value(depth)?));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => break,
                Some(_) => return Err(JsonError::UnexpectedByte),
                None => return Err(JsonError::UnexpectedEnd),
            }
        }
        self.at += 1;
        // Sorting the keys finds a duplicate in O(n log n), even among the
        // ~1,300 keys that 8 KiB can hold.
        let mut keys: Vec<&str> = members.iter().map(|(key, _)| key.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(JsonError::DuplicateKey);
        }
        Ok(Value::Object(members))
    }

    /// `[` values `]`; `depth` counts this array.
    fn array(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_JSON_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.at += 1; // the `[` that `value` saw
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => break,
                Some(_) => return Err(JsonError::UnexpectedByte),
                None => return Err(JsonError::UnexpectedEnd),
            }
        }
        self.at += 1;
        Ok(Value::Array(items))
    }

    /// A string starting at its opening quote; escapes decoded.
    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1; // the opening quote
        let mut decoded = String::new();
        loop {
            let run_start = self.at;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The run ends before an ASCII byte, so it ends on a char boundary.
            decoded.push_str(self.text.get(run_start..self.at).ok_or(JsonError::NotUtf8)?);
            match self.peek() {
                None => return Err(JsonError::UnexpectedEnd),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(decoded);
                }
                Some(b'\\') => decoded.push(self.escape()?),
                Some(_) => return Err(JsonError::ControlInString),
            }
        }
    }

    /// One escape starting at its `\`.
    fn escape(&mut self) -> Result<char, JsonError> {
        let letter = self.text.as_bytes().get(self.at + 1).copied().ok_or(JsonError::UnexpectedEnd)?;
        self.at += 2;
        let simple = match letter {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode_escape(),
            _ => return Err(JsonError::BadEscape),
        };
        Ok(simple)
    }

    /// The rest of `\uXXXX` (its `\u` consumed), pairing surrogates.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = match first {
            0xd800..=0xdbff => {
                if !self.text.as_bytes()[self.at..].starts_with(b"\\u") {
                    return Err(JsonError::LoneSurrogate);
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&second) {
                    return Err(JsonError::LoneSurrogate);
                }
                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(JsonError::LoneSurrogate),
            _ => first,
        };
        char::from_u32(code).ok_or(JsonError::LoneSurrogate)
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.text.as_bytes().get(self.at..self.at + 4).ok_or(JsonError::UnexpectedEnd)?;
        let mut code = 0;
        for &digit in digits {
            let value = char::from(digit).to_digit(16).ok_or(JsonError::BadEscape)?;
            code = code * 16 + value;
        }
        self.at += 4;
        Ok(code)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.at += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(JsonError::BadNumber);
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(JsonError::BadNumber),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.required_digits()?;
        }
        let text = self.text.get(start..self.at).ok_or(JsonError::BadNumber)?;
        Ok(Number(text.to_owned()))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), JsonError> {
        let start = self.at;
        self.digits();
        if self.at == start {
            return Err(JsonError::BadNumber);
        }
        Ok(())
    }
}
