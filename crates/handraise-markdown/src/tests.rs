use super::*;
use proptest::prelude::*;

/// Fails unless every tag in `html` is one of the allow-list, with no attribute but an
/// ordered list's numeric `start`.
fn assert_only_allowed_markup(source: &str, html: &str) {
    const ALLOWED: &[&str] = &[
        "p",
        "h3",
        "h4",
        "h5",
        "h6",
        "ol",
        "ul",
        "li",
        "strong",
        "em",
        "code",
        "pre",
        "blockquote",
        "hr",
        "br",
    ];
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let close = rest[open..]
            .find('>')
            .unwrap_or_else(|| panic!("{source:?}: unclosed '<' in {html}"));
        let tag = &rest[open + 1..open + close];
        let name = tag.strip_prefix('/').unwrap_or(tag);
        let ok = ALLOWED.contains(&name)
            || name.strip_prefix("ol start=\"").is_some_and(|n| {
                n.strip_suffix('"')
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            });
        assert!(ok, "{source:?}: <{tag}> is not allowed in {html}");
        rest = &rest[open + close + 1..];
    }
    assert_eq!(
        html.matches('<').count(),
        html.matches('>').count(),
        "{html}"
    );
}

#[test]
fn the_subset_renders_as_before() {
    let html = to_html(
        "# Fix it\n\nPress **Source** then *HDMI 1* or `Win+P`.\n\n\
         1. Check the cable\n2. Wait [ten seconds](https://x.example)\n\
         - a <script>alert(1)</script>\n- b\n",
    );
    assert_eq!(
        html,
        "<h3>Fix it</h3><p>Press <strong>Source</strong> then <em>HDMI 1</em> or \
         <code>Win+P</code>.</p><ol><li>Check the cable</li><li>Wait ten seconds</li></ol>\
         <ul><li>a &lt;script&gt;alert(1)&lt;/script&gt;</li><li>b</li></ul>"
    );
    assert_eq!(
        to_html("<img src=x onerror=alert(1)> file_name_here"),
        "<p>&lt;img src=x onerror=alert(1)&gt; file_name_here</p>"
    );
    assert_eq!(
        to_html("3. three\n4. four"),
        "<ol start=\"3\"><li>three</li><li>four</li></ol>"
    );
    assert_eq!(
        to_html("## Before you start\nSome text\nmore text\n\n- one\n* two\n\nEnd."),
        "<h4>Before you start</h4><p>Some text more text</p><ul><li>one</li></ul>\
         <ul><li>two</li></ul><p>End.</p>"
    );
    assert_eq!(to_html("###### Six\n"), "<h6>Six</h6>");
    assert_eq!(to_html(""), "");
}

#[test]
fn links_keep_their_text_and_lose_their_address() {
    for (md, text) in [
        ("[the portal](javascript:alert(1))", "the portal"),
        ("[x](JaVaScRiPt:alert(1))", "x"),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "x"),
        ("[x](<https://a.example/\" onmouseover=\"alert(1)>)", "x"),
        ("[x][r]\n\n[r]: javascript:alert(1)", "x"),
        ("<javascript:alert(1)>", "javascript:alert(1)"),
        ("<https://portal.example>", "https://portal.example"),
        ("![a cat](https://tracker.example/pixel.png)", "a cat"),
        ("![](javascript:alert(1))", ""),
        ("[![logo](x.png)](https://a.example)", "logo"),
    ] {
        let html = to_html(md);
        assert_only_allowed_markup(md, &html);
        assert!(
            !html.contains("href") && !html.contains("src"),
            "{md}: {html}"
        );
        assert_eq!(html, format!("<p>{text}</p>"), "{md}");
    }
}

#[test]
fn raw_html_scripts_and_hostile_input_stay_text() {
    let cases = [
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
        "Hello <script>alert(\"x\")</script> & <img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">click</a>",
        "<iframe src=\"https://evil.example\"></iframe>",
        "<div onclick=\"alert(1)\">\n\n*text*\n\n</div>",
        "<style>body{display:none}</style>",
        "<!-- a comment -->",
        "<svg/onload=alert(1)>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "```\"><script>alert(1)</script>\n<b>code</b>\n```",
        "    <script>indented</script>",
        "# <b>T</b>\n1. **<i>x</i>**\n- `<svg onload=1>`",
        "> quote <em onmouseover=x>hi</em>",
        "line one  \nline two\n\n---\n",
        "<p title='x' onmouseover='alert(1)'>hi</p>",
        "a `<code>` b\n\n<details open ontoggle=alert(1)>",
        "[x](https://a.example/\" onmouseover=\"alert(1))",
    ];
    for md in cases {
        let html = to_html(md);
        assert_only_allowed_markup(md, &html);
        for bad in [
            "<script", "<img", "<a ", "<iframe", "<svg", "<style", "<details",
        ] {
            assert!(!html.to_ascii_lowercase().contains(bad), "{md}: {html}");
        }
    }
    // Raw HTML is shown to the reader as the text that was typed.
    assert_eq!(
        to_html("<script>alert(1)</script>"),
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"
    );
    assert_eq!(
        to_html("# <b>T</b>\n1. **<i>x</i>**\n- `<svg onload=1>`"),
        "<h3>&lt;b&gt;T&lt;/b&gt;</h3><ol><li><strong>&lt;i&gt;x&lt;/i&gt;</strong></li></ol>\
         <ul><li><code>&lt;svg onload=1&gt;</code></li></ul>"
    );
    assert_eq!(
        to_html("```js\"><x>\n<b>code</b>\n```"),
        "<pre><code>&lt;b&gt;code&lt;/b&gt;\n</code></pre>"
    );
    assert_eq!(
        to_html("line one  \nline two\n\n---\n\n> said"),
        "<p>line one<br>line two</p><hr><blockquote><p>said</p></blockquote>"
    );
}

#[test]
fn escaping_covers_every_special_character() {
    assert_eq!(escape_html("<>&\"'"), "&lt;&gt;&amp;&quot;&#39;");
    assert_eq!(to_html("a * b * c"), "<p>a * b * c</p>");
    assert_eq!(
        to_html("Tom & \"Jerry's\""),
        "<p>Tom &amp; &quot;Jerry&#39;s&quot;</p>"
    );
}

proptest! {
    /// Whatever an author types, only allow-listed markup comes out.
    #[test]
    fn any_input_gives_only_allowed_markup(
        md in proptest::collection::vec(
            prop_oneof![
                Just("<"), Just(">"), Just("<script>"), Just("</script>"), Just("<img src=x onerror=a>"),
                Just("<a href=\"javascript:x\">"), Just("["), Just("]"), Just("("), Just(")"), Just("!"),
                Just("javascript:"), Just("*"), Just("_"), Just("`"), Just("```"), Just("#"), Just("1. "),
                Just("- "), Just("> "), Just("\n"), Just("\n\n"), Just("    "), Just("&"), Just("&lt;"),
                Just("\""), Just("'"), Just("<!--"), Just("-->"), Just("<div>"), Just("word"), Just(" "),
            ],
            0..40,
        )
    ) {
        let md = md.concat();
        let html = to_html(&md);
        assert_only_allowed_markup(&md, &html);
    }
}
