use super::*;

/// One selector, topics it must match, topics it must not.
fn check(selector: &str, matching: &[&str], not_matching: &[&str]) {
    let compiled = Selector::compile(selector);
    for topic in matching {
        assert!(compiled.matches(topic), "{selector} should match {topic:?}");
    }
    for topic in not_matching {
        assert!(!compiled.matches(topic), "{selector} should not match {topic:?}");
    }
}

#[test]
fn star_matches_every_topic() {
    assert_eq!(Selector::compile("*"), Selector::Any);
    check("*", &["", "*", "https://example.com/books/1", "a{b"], &[]);
    // Only the whole string `*` is special.
    check("https://example.com/*", &["https://example.com/*"], &["https://example.com/1"]);
}

#[test]
fn exact_selectors_match_byte_for_byte() {
    check(
        "https://example.com/books/1",
        &["https://example.com/books/1"],
        &["https://example.com/books/10", "HTTPS://example.com/books/1", "https://example.com/books/%31", ""],
    );
}

#[test]
fn simple_expressions() {
    check(
        "https://example.com/books/{id}",
        &[
            "https://example.com/books/1",
            "https://example.com/books/",
            "https://example.com/books/a-b.c_d~e",
            "https://example.com/books/a%2Fb",
            "https://example.com/books/1,2",
            "https://example.com/books/{id}",
        ],
        &[
            "https://example.com/books/1/2",
            "https://example.com/books/1?x=1",
            "https://example.com/books/1#top",
            "https://example.com/books/a:b",
            "https://example.com/books/%2",
            "https://example.com/books/%zz",
            "https://example.com/books/é",
            "https://example.com/books",
            "https://example.org/books/1",
            "HTTPS://example.com/books/1",
        ],
    );
    check(
        "/users/{user}/posts/{post}",
        &["/users/1/posts/2", "/users//posts/"],
        &["/users/1/posts/2/3", "/users/1/2"],
    );
    check("{x,y}", &["", "1", "1,2", "1,2,3"], &["1/2"]);
    check("a{x}b{y}c", &["abc", "a1b2c", "abbbc"], &["a1c", "a/b2c"]);
}

#[test]
fn reserved_and_fragment_expressions() {
    check(
        "https://example.com/{+path}",
        &[
            "https://example.com/",
            "https://example.com/a/b",
            "https://example.com/a/b?c=d&e=f#g",
            "https://example.com/:@!$&'()*+,;=[]",
            "https://example.com/%7E",
        ],
        &[
            "https://example.org/a",
            "https://example.com/a b",
            "https://example.com/a\"b",
            "https://example.com/%",
        ],
    );
    check(
        "https://example.com/doc{#section}",
        &[
            "https://example.com/doc",
            "https://example.com/doc#",
            "https://example.com/doc#intro",
            "https://example.com/doc#a/b",
        ],
        &["https://example.com/docintro", "https://example.com/doc/intro"],
    );
}

#[test]
fn label_path_and_parameter_expressions() {
    check("file{.ext}", &["file", "file.json", "file.tar.gz"], &["filejson", "file.a/b"]);
    check("/api{/a,b}", &["/api", "/api/x", "/api/x/y", "/api//"], &["/api/x/y/z", "/apix"]);
    check("/api{/list*}", &["/api", "/api/x/y/z"], &["/apix"]);
    check("/map{;x,y}", &["/map", "/map;x", "/map;x=1", "/map;x=1;y=2", "/map;y"], &["/map;z=1", "/map;y;x"]);
}

#[test]
fn query_expressions() {
    check(
        "https://example.com/search{?q}",
        &[
            "https://example.com/search",
            "https://example.com/search?q=rust",
            "https://example.com/search?q=",
            "https://example.com/search?q=a,b%20c",
        ],
        &[
            "https://example.com/search?",
            "https://example.com/search?q",
            "https://example.com/search?x=1",
            "https://example.com/search?q=a&r=b",
            "https://example.com/search?q=a/b",
            "https://example.com/search?q=a=b",
            "https://example.com/searchq=1",
        ],
    );
    check(
        "/s{?q,lang}",
        &["/s", "/s?q=a", "/s?lang=en", "/s?q=a&lang=en"],
        &["/s?lang=en&q=a", "/s?q=a&q=b"],
    );
    check("/s?fixed=1{&page}", &["/s?fixed=1", "/s?fixed=1&page=2"], &["/s?fixed=1?page=2"]);
    check("/s{?filter*}", &["/s", "/s?a=1&b=2"], &["/s#x"]);
}

#[test]
fn strings_that_are_not_templates_match_only_themselves() {
    let cases = [
        "a{b",
        "a}b",
        "{}",
        "a{}b",
        "{a{b}}",
        "{=x}",
        "{!x}",
        "{@x}",
        "{|x}",
        "{a b}",
        "{a,}",
        "{,a}",
        "{.a.}",
        "{a..b}",
        "{+}",
        "{x:0}",
        "{x:10000}",
        "{x:3*}",
        "{x*:3}",
        "{x:}",
        "{-x}",
        "a b{x}",
        "it's/{x}",
        "a%zz{x}",
        "a%{x}",
        "{x}\u{7f}",
    ];
    for text in cases {
        assert_eq!(Selector::compile(text), Selector::Exact(text.to_owned()), "{text:?}");
        assert!(Selector::compile(text).matches(text));
        assert_eq!(Selector::compile(text).as_str(), text);
    }
    check("a{b", &["a{b"], &["ab", "a{bc"]);
    check("{}", &["{}"], &[""]);
}

#[test]
fn valid_templates_compile_to_templates() {
    let cases = [
        "{x}",
        "{x:3}",
        "{x:9999}",
        "{x*}",
        "{x_1.y%41}",
        "{+x,y}",
        "{#x}",
        "{.x}",
        "{/x}",
        "{;x}",
        "{?x,y}",
        "{&x}",
        "https://example.com/b%C3%A9/{x}",
        "https://例え.jp/{x}",
    ];
    for text in cases {
        let compiled = Selector::compile(text);
        assert!(matches!(compiled, Selector::Template(_)), "{text:?} is a template");
        assert_eq!(compiled.as_str(), text);
    }
    check("https://例え.jp/{x}", &["https://例え.jp/1"], &["https://例え.jp/例"]);
    check("/b%C3%A9/{x}", &["/b%C3%A9/1"], &["/bé/1", "/b%c3%a9/1"]);
    // A prefix is not checked against its length (as in the Mercure hub).
    check("/{x:2}", &["/abc"], &["/a/b"]);
}

#[test]
fn many_variables_against_a_long_topic_stay_fast() {
    let expressions = super::template::MAX_EXPRESSIONS;
    let template: String = (0..expressions).map(|n| format!("{{+v{n}}}x")).collect();
    let selector = Selector::compile(&template);
    assert!(matches!(selector, Selector::Template(_)));
    let long_miss = "x".repeat(20_000) + " ";
    let long_hit = "x".repeat(20_000);
    let started = std::time::Instant::now();
    assert!(!selector.matches(&long_miss));
    assert!(selector.matches(&long_hit));
    // A backtracking search would need about C(20000, 16) tries; the sweep
    // does 16 × 20,000 steps per part kind.
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn random_selectors_and_topics_never_panic() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet = "{}+#./;?&=,*:%0aZ_-~é ";
    let pieces: Vec<char> = alphabet.chars().collect();
    let mut random_text = |length: u64| -> String {
        (0..length).map(|_| pieces[(next() % pieces.len() as u64) as usize]).collect()
    };
    for _ in 0..5_000 {
        let selector = random_text(12);
        let topic = random_text(16);
        let compiled = Selector::compile(&selector);
        assert!(compiled.matches(&selector) || compiled == Selector::Any);
        let _ = compiled.matches(&topic);
    }
}

#[test]
fn a_template_of_too_many_expressions_selects_only_itself() {
    let at_the_limit = "{a}/".repeat(super::template::MAX_EXPRESSIONS);
    let over = "{a}/".repeat(super::template::MAX_EXPRESSIONS + 1);
    assert!(matches!(Selector::compile(&at_the_limit), Selector::Template(_)));
    assert!(Selector::compile(&at_the_limit).matches(&"x/".repeat(super::template::MAX_EXPRESSIONS)));
    assert_eq!(Selector::compile(&over), Selector::Exact(over.clone()));
    assert!(!Selector::compile(&over).matches(&"x/".repeat(super::template::MAX_EXPRESSIONS + 1)));
}
