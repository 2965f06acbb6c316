//! Reading a task's instruction the way the built-in policy needs it: its words, the values it mentions (quoted
//! names, codes, people's names, numbers, the value a field should change to) and the words in front of each value.

use std::collections::BTreeSet;

/// Lower-case words of a text (letters and digits).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

/// Where a value came from in the instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Quoted,
    Code,
    Person,
    Number,
    /// The value after "to" / "now be" at the end of a request to change something.
    Target,
    /// `#12`: an id given directly.
    Hash,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Quoted => "quoted",
            Source::Code => "code",
            Source::Person => "person",
            Source::Number => "number",
            Source::Target => "target",
            Source::Hash => "hash",
        }
    }
}

/// A value the instruction mentions.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub text: String,
    pub source: Source,
    /// Up to four words right before it ("the category", "daily rate").
    pub before: Vec<String>,
}

impl Mention {
    pub fn number(&self) -> Option<f64> {
        let t: String = self.text.chars().filter(|c| *c != '$' && *c != ',').collect();
        t.trim_end_matches('.').parse().ok()
    }
}

/// Everything the policy reads off an instruction, computed once per task.
#[derive(Debug, Clone, Default)]
pub struct Instruction {
    pub text: String,
    pub words: BTreeSet<String>,
    pub mentions: Vec<Mention>,
    /// The items of its "with ..." clause, parsed once ([`Instruction::with_items`]).
    pub items: Vec<(Vec<String>, String)>,
}

fn before_words(text: &str, at: usize) -> Vec<String> {
    let mut w = words(&text[..at]);
    let keep = w.len().saturating_sub(4);
    w.drain(..keep);
    w
}

impl Instruction {
    pub fn parse(text: &str) -> Instruction {
        let mut mentions = Vec::new();
        // Quoted values.
        let mut rest = text;
        let mut offset = 0;
        while let Some(a) = rest.find('"') {
            let Some(b) = rest[a + 1..].find('"') else { break };
            let inner = &rest[a + 1..a + 1 + b];
            if !inner.is_empty() {
                mentions.push(Mention {
                    text: inner.to_string(),
                    source: Source::Quoted,
                    before: before_words(text, offset + a),
                });
            }
            offset += a + b + 2;
            rest = &rest[a + b + 2..];
        }
        let unquoted = strip_quoted(text);
        let tokens: Vec<(usize, &str)> = token_spans(&unquoted);
        // Codes (ORD-1042), ids (#12), money and numbers.
        for (at, tok) in &tokens {
            let t = tok.trim_end_matches(['.', ',', '?', '!', ':', ';']);
            let before = before_words(&unquoted, *at);
            if let Some((p, n)) = t.split_once('-')
                && !p.is_empty()
                && p.chars().all(|c| c.is_ascii_uppercase())
                && !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
            {
                mentions.push(Mention { text: t.to_string(), source: Source::Code, before });
            } else if let Some(id) = t.strip_prefix('#')
                && id.chars().all(|c| c.is_ascii_digit())
                && !id.is_empty()
            {
                mentions.push(Mention { text: id.to_string(), source: Source::Hash, before });
            } else {
                let num: String = t.chars().filter(|c| *c != '$' && *c != ',').collect();
                if !num.is_empty() && num.parse::<f64>().is_ok() && t.chars().any(|c| c.is_ascii_digit()) {
                    mentions.push(Mention { text: t.to_string(), source: Source::Number, before });
                }
            }
        }
        // People: runs of two or more capitalised words (not the first word of a sentence alone).
        let mut i = 0;
        while i < tokens.len() {
            let is_cap = |t: &str| {
                let t = t.trim_end_matches(['.', ',', '?', '!', ':', ';']);
                t.len() > 1
                    && t.chars().next().is_some_and(|c| c.is_uppercase())
                    && t.chars().skip(1).all(|c| c.is_lowercase() || c == '\'')
            };
            let mut j = i;
            while j < tokens.len() && is_cap(tokens[j].1) {
                j += 1;
                if tokens[j - 1].1.ends_with([',', '.', '?', '!', ':']) {
                    break;
                }
            }
            if j - i >= 2 {
                let name: Vec<&str> =
                    tokens[i..j].iter().map(|(_, t)| t.trim_end_matches(['.', ',', '?', '!', ':', ';'])).collect();
                mentions.push(Mention {
                    text: name.join(" "),
                    source: Source::Person,
                    before: before_words(&unquoted, tokens[i].0),
                });
            }
            i = j.max(i + 1);
        }
        // The target of a change: what follows the last " to " or " now be ".
        for marker in [" now be ", " to "] {
            if let Some(at) = text.rfind(marker) {
                let tail = text[at + marker.len()..].trim_end_matches(['.', '?', '!', ' ']).trim();
                if !tail.is_empty() && tail.split_whitespace().count() <= 4 {
                    mentions.push(Mention {
                        text: tail.trim_matches('"').to_string(),
                        source: Source::Target,
                        before: before_words(text, at + 1),
                    });
                }
                break;
            }
        }
        let mut ins = Instruction {
            text: text.to_string(),
            words: words(text).into_iter().collect(),
            mentions,
            items: Vec::new(),
        };
        ins.items = ins.with_items();
        ins
    }

    /// Values a search could look for (names, codes, people).
    pub fn lookups(&self) -> impl Iterator<Item = &Mention> {
        self.mentions.iter().filter(|m| matches!(m.source, Source::Quoted | Source::Code | Source::Person))
    }

    /// The items of a "with a 2, b "x" and c $3.00" clause: (phrase words, value text).
    pub fn with_items(&self) -> Vec<(Vec<String>, String)> {
        let Some(at) = self.text.rfind(" with ") else { return Vec::new() };
        let clause = self.text[at + 6..].trim_end_matches(['.', '?', '!']);
        let mut out = Vec::new();
        for part in clause.split(", ").flat_map(|p| p.split(" and ")) {
            let part = part.trim();
            let (phrase, value) = if let Some(q) = part.find('"') {
                (&part[..q], part[q..].trim_matches('"'))
            } else {
                match part.rsplit_once(' ') {
                    Some((p, v)) => (p, v),
                    None => continue,
                }
            };
            out.push((words(phrase), value.to_string()));
        }
        out
    }
}

fn strip_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            quoted = !quoted;
            out.push(' ');
        } else if quoted {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

fn token_spans(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((s, &text[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_of_a_generated_request() {
        let i = Instruction::parse(
            "Hi! Please create a new product for the category \"Pet Supplies\", with name \"Slate Desk Lamp\", price $77.00 and stock 59.",
        );
        let quoted: Vec<&str> =
            i.mentions.iter().filter(|m| m.source == Source::Quoted).map(|m| m.text.as_str()).collect();
        assert_eq!(quoted, ["Pet Supplies", "Slate Desk Lamp"]);
        assert_eq!(i.mentions[0].before, ["a", "new", "product", "for", "the", "category"][2..]);
        let items = i.with_items();
        assert!(items.contains(&(vec!["price".into()], "$77.00".into())), "{items:?}");
        assert!(items.contains(&(vec!["stock".into()], "59".into())), "{items:?}");
        assert!(items.contains(&(vec!["name".into()], "Slate Desk Lamp".into())), "{items:?}");
        let i = Instruction::parse("How many completed maintenance records does the vehicle UNIT-2828 have?");
        assert!(i.mentions.iter().any(|m| m.source == Source::Code && m.text == "UNIT-2828"));
        let i = Instruction::parse("Hello, reactivate the account of the customer Wei Dalton.");
        assert!(i.mentions.iter().any(|m| m.source == Source::Person && m.text == "Wei Dalton"), "{:?}", i.mentions);
        let i = Instruction::parse("Set the estimated cost of damage report #8 to $1925.00.");
        assert!(i.mentions.iter().any(|m| m.source == Source::Hash && m.text == "8"));
        assert!(i.mentions.iter().any(|m| m.source == Source::Target && m.text == "$1925.00"));
    }
}
