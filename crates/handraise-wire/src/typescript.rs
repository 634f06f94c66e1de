//! The choices and limits as TypeScript, for the tray app's generated bindings
//! (`cargo xtask codegen`): the UI reads its lists, defaults and limits from there.

use crate::{Category, Scope, TextField, TicketStatus, Urgency};
use std::fmt::Write as _;

fn quoted<T: Copy>(all: &[T], wire: impl Fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| format!("\"{}\"", wire(*v))).collect()
}

pub fn union<T: Copy>(out: &mut String, name: &str, all: &[T], wire: impl Fn(T) -> &'static str) {
    let _ = writeln!(
        out,
        "export type {name} = {};",
        quoted(all, wire).join(" | ")
    );
}

fn list<T: Copy>(
    out: &mut String,
    name: &str,
    ty: &str,
    all: &[T],
    wire: impl Fn(T) -> &'static str,
) {
    let _ = writeln!(
        out,
        "export const {name}: readonly {ty}[] = [{}];",
        quoted(all, wire).join(", ")
    );
}

/// The choice types, their lists in display order, their defaults and the text limits.
pub fn choices_and_limits() -> String {
    let mut out = String::new();
    union(&mut out, "Category", Category::ALL, Category::as_str);
    union(&mut out, "Urgency", Urgency::ALL, Urgency::as_str);
    union(&mut out, "Scope", Scope::ALL, Scope::as_str);
    union(
        &mut out,
        "TicketStatus",
        TicketStatus::ALL,
        TicketStatus::as_str,
    );
    out.push_str(
        "\n/** Every choice in display order, and the value sent when the teacher picks none. */\n",
    );
    list(
        &mut out,
        "CATEGORIES",
        "Category",
        Category::ALL,
        Category::as_str,
    );
    list(
        &mut out,
        "URGENCIES",
        "Urgency",
        Urgency::ALL,
        Urgency::as_str,
    );
    list(&mut out, "SCOPES", "Scope", Scope::ALL, Scope::as_str);
    let _ = writeln!(
        out,
        "export const DEFAULT_URGENCY: Urgency = \"{}\";",
        Urgency::default().as_str()
    );
    let _ = writeln!(
        out,
        "export const DEFAULT_SCOPE: Scope = \"{}\";",
        Scope::default().as_str()
    );
    out.push_str(
        "\n/**\n * The longest accepted text of each field, after trimming, in Unicode scalar values\n \
         * (`[...s].length`, not `s.length`), and whether it may be empty. The agent and the\n \
         * server check the same limits.\n */\nexport const TEXT_LIMITS = {\n",
    );
    for f in TextField::ALL {
        let _ = writeln!(
            out,
            "  {}: {{ maxChars: {}, required: {} }},",
            f.key(),
            f.max_chars(),
            f.required()
        );
    }
    out.push_str("} as const;\nexport type TextField = keyof typeof TEXT_LIMITS;\n");
    let _ = writeln!(
        out,
        "/** Largest accepted screenshot, in bytes. */\nexport const MAX_SCREENSHOT_BYTES = {};",
        crate::MAX_SCREENSHOT_BYTES
    );
    out
}
