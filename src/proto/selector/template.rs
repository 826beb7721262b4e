//! RFC 6570 templates: parsing (§2) and the whole-string match.
//!
//! ```text
//! https://example.com/books/{id}{?page,lang}
//! └──── literal ───────────┘└expr┘└─ expression ─┘
//! ```

/// A parsed URI template; see the module docs of
/// [`selector`](super) for what each expression matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Matched byte for byte (`%XX` included, undecoded).
    Literal(String),
    Expression {
        operator: Operator,
        variables: Vec<Variable>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Variable {
    name: String,
    /// `{x*}`: the value may repeat the operator's separator.
    explode: bool,
}

/// RFC 6570 §3.2.1 and appendix A, one variant per operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Simple,
    Reserved,
    Fragment,
    Label,
    PathSegment,
    PathParameter,
    Query,
    QueryContinuation,
}

impl Operator {
    fn from_byte(byte: u8) -> Option<Operator> {
        Some(match byte {
            b'+' => Operator::Reserved,
            b'#' => Operator::Fragment,
            b'.' => Operator::Label,
            b'/' => Operator::PathSegment,
            b';' => Operator::PathParameter,
            b'?' => Operator::Query,
            b'&' => Operator::QueryContinuation,
            _ => return None,
        })
    }

    /// What the expansion starts with when any variable is defined.
    fn first(self) -> &'static [u8] {
        match self {
            Operator::Simple | Operator::Reserved => b"",
            Operator::Fragment => b"#",
            Operator::Label => b".",
            Operator::PathSegment => b"/",
            Operator::PathParameter => b";",
            Operator::Query => b"?",
            Operator::QueryContinuation => b"&",
        }
    }

    /// What stands between the expansions of two defined variables.
    fn separator(self) -> u8 {
        match self {
            Operator::Simple | Operator::Reserved | Operator::Fragment => b',',
            Operator::Label => b'.',
            Operator::PathSegment => b'/',
            Operator::PathParameter => b';',
            Operator::Query | Operator::QueryContinuation => b'&',
        }
    }

    /// `name=value` rather than a bare value.
    fn named(self) -> bool {
        matches!(self, Operator::PathParameter | Operator::Query | Operator::QueryContinuation)
    }

    /// Whether values may hold reserved characters unencoded.
    fn allows_reserved(self) -> bool {
        matches!(self, Operator::Reserved | Operator::Fragment)
    }
}

/// Most expressions a template may hold. A match costs about (template
/// length + expressions) × topic length steps, paid by the publisher for
/// every stream that follows by template (and, for a private event, for
/// every token's selectors): a bound keeps one signed token from making
/// each publish slow.
pub const MAX_EXPRESSIONS: usize = 16;

impl Template {
    /// Parses `text` as an RFC 6570 template with at least one expression
    /// and at most [`MAX_EXPRESSIONS`]; `None` when it is not one (then it
    /// selects only itself, and costs one comparison).
    pub(super) fn parse(text: &str) -> Option<Template> {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut literal_start = 0;
        let mut at = 0;
        while at < bytes.len() {
            match bytes[at] {
                b'{' => {
                    let close = at + bytes[at..].iter().position(|&byte| byte == b'}')?;
                    if literal_start < at {
                        parts.push(Part::Literal(text.get(literal_start..at)?.to_owned()));
                    }
                    parts.push(parse_expression(text.get(at + 1..close)?)?);
                    let expressions = parts.iter().filter(|part| !matches!(part, Part::Literal(_))).count();
                    if expressions > MAX_EXPRESSIONS {
                        return None;
                    }
                    at = close + 1;
                    literal_start = at;
                }
                b'%' if bytes
                    .get(at + 1..at + 3)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) =>
                {
                    at += 3;
                }
                byte if is_literal_byte(byte) => at += 1,
                _ => return None,
            }
        }
        if literal_start < at {
            parts.push(Part::Literal(text.get(literal_start..at)?.to_owned()));
        }
        let has_expression = parts.iter().any(|part| matches!(part, Part::Expression { .. }));
        has_expression.then(|| Template { text: text.to_owned(), parts })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether some expansion of the template is exactly `topic`.
    pub(super) fn matches(&self, topic: &str) -> bool {
        let topic = topic.as_bytes();
        // reachable[p]: the parts so far can expand to exactly topic[..p].
        let mut reachable = vec![false; topic.len() + 1];
        reachable[0] = true;
        for part in &self.parts {
            reachable = match part {
                Part::Literal(literal) => after_literal(&reachable, topic, literal.as_bytes()),
                Part::Expression { operator, variables } => {
                    after_expression(&reachable, topic, *operator, variables)
                }
            };
            if !reachable.contains(&true) {
                return false;
            }
        }
        reachable[topic.len()]
    }
}

/// RFC 6570 §2.1: literal characters; `%` is handled by the caller, and any
/// non-ASCII byte belongs to a character of `ucschar` or `iprivate`.
fn is_literal_byte(byte: u8) -> bool {
    match byte {
        0x80..=0xff => true,
        0x21..=0x7e => {
            !matches!(byte, b'"' | b'%' | b'\'' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}')
        }
        _ => false,
    }
}

/// `[operator] varspec *("," varspec)`, the text between the braces.
fn parse_expression(body: &str) -> Option<Part> {
    let (operator, list) = match body.bytes().next().and_then(Operator::from_byte) {
        Some(operator) => (operator, body.get(1..)?),
        None => (Operator::Simple, body),
    };
    let variables = list.split(',').map(parse_varspec).collect::<Option<Vec<Variable>>>()?;
    Some(Part::Expression { operator, variables })
}

/// `varname [ ":" max-length / "*" ]` (RFC 6570 §2.3, §2.4).
fn parse_varspec(varspec: &str) -> Option<Variable> {
    let (name, explode) = match varspec.strip_suffix('*') {
        Some(name) => (name, true),
        None => (varspec, false),
    };
    let name = match name.split_once(':') {
        Some((name, max_length)) if !explode => {
            let digits = max_length.as_bytes();
            let valid =
                (1..=4).contains(&digits.len()) && digits[0] != b'0' && digits.iter().all(u8::is_ascii_digit);
            valid.then_some(name)?
        }
        Some(_) => return None,
        None => name,
    };
    // varname = varchar *( ["."] varchar ), varchar = ALPHA / DIGIT / "_" / pct-encoded
    let valid_name = !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name.split('.').all(|piece| {
            let bytes = piece.as_bytes();
            let mut at = 0;
            while at < bytes.len() {
                match bytes[at] {
                    b'%' if bytes
                        .get(at + 1..at + 3)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        at += 3
                    }
                    byte if byte.is_ascii_alphanumeric() || byte == b'_' => at += 1,
                    _ => return false,
                }
            }
            true
        });
    valid_name.then(|| Variable { name: name.to_owned(), explode })
}

/// The positions reached from `reachable` by matching `literal`.
fn after_literal(reachable: &[bool], topic: &[u8], literal: &[u8]) -> Vec<bool> {
    let mut next = vec![false; reachable.len()];
    for (position, _) in reachable.iter().enumerate().filter(|(_, &reached)| reached) {
        if topic[position..].starts_with(literal) {
            next[position + literal.len()] = true;
        }
    }
    next
}

/// The positions reached by one expression: its empty expansion, or
/// `first` and the values of a non-empty, in-order subset of its
/// variables joined by the separator.
fn after_expression(
    reachable: &[bool],
    topic: &[u8],
    operator: Operator,
    variables: &[Variable],
) -> Vec<bool> {
    let after_first = after_literal(reachable, topic, operator.first());
    // Positions where the expansion of some earlier variable ends.
    let mut after_any_value = vec![false; reachable.len()];
    for variable in variables {
        let mut starts = after_literal(&after_any_value, topic, &[operator.separator()]);
        merge(&mut starts, &after_first);
        let ends = after_variable(&starts, topic, operator, variable);
        merge(&mut after_any_value, &ends);
    }
    let mut next = reachable.to_vec();
    merge(&mut next, &after_any_value);
    next
}

/// The positions reached by one defined variable's expansion.
fn after_variable(starts: &[bool], topic: &[u8], operator: Operator, variable: &Variable) -> Vec<bool> {
    let takes = |byte: u8| {
        is_unreserved(byte)
            || byte == b','
            || (operator.allows_reserved() && is_reserved(byte))
            || (variable.explode && (byte == b'=' || byte == operator.separator()))
    };
    if !operator.named() || variable.explode {
        return after_run(starts, topic, takes);
    }
    let after_name = after_literal(starts, topic, variable.name.as_bytes());
    let mut ends = after_run(&after_literal(&after_name, topic, b"="), topic, takes);
    if operator == Operator::PathParameter {
        // `{;x}` with x empty expands to `;x`, without `=`.
        merge(&mut ends, &after_name);
    }
    ends
}

/// The positions reached by any number of taken bytes or `%XX` triplets.
fn after_run(starts: &[bool], topic: &[u8], takes: impl Fn(u8) -> bool) -> Vec<bool> {
    let mut ends = starts.to_vec();
    for position in 1..ends.len() {
        let by_byte = ends[position - 1] && takes(topic[position - 1]);
        let by_triplet =
            position >= 3 && ends[position - 3] && is_percent_triplet(&topic[position - 3..position]);
        ends[position] |= by_byte || by_triplet;
    }
    ends
}

fn merge(into: &mut [bool], from: &[bool]) {
    for (slot, &reached) in into.iter_mut().zip(from) {
        *slot |= reached;
    }
}

fn is_percent_triplet(bytes: &[u8]) -> bool {
    matches!(bytes, [b'%', high, low] if high.is_ascii_hexdigit() && low.is_ascii_hexdigit())
}

/// RFC 3986 §2.3.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 §2.2, gen-delims and sub-delims.
fn is_reserved(byte: u8) -> bool {
    b":/?#[]@!$&'()*+,;=".contains(&byte)
}
