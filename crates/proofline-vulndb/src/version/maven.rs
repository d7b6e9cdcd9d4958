//! Maven's version order, ported from Maven 3.9's `ComparableVersion` (apache/maven,
//! `maven-artifact/src/main/java/org/apache/maven/artifact/versioning/ComparableVersion.java` at
//! 1a3de98ee168954d6400ad4331b905baec59a2ce, Apache-2.0): no crate implements it (CRATES.md), and
//! OSV's Maven ranges follow the POM reference's "Version Order Specification" that class
//! implements.
//!
//! A version is lowercased and split into items: numbers, qualifiers (strings) and sub-lists. A
//! `-`, or a switch between digits and letters, opens a sub-list; `.` does not, except before a
//! qualifier (`1.0.0.RC1` reads as `1.0.0-RC1`, MNG-7644). Trailing "null" items (`0`, `""`,
//! `ga`, `final`, `release`, empty lists) are dropped from each list. Qualifiers order as
//! `alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp`, then any
//! other qualifier lexically; `a1`, `b1`, `m1` mean `alpha-1`, `beta-1`, `milestone-1`.
//!
//! Deliberate differences from the Java class: a sub-list compares against a qualifier as
//! against the one-item list holding it, as Maven 4 does (Maven 3.9's "a list is always greater
//! than a qualifier" is not transitive: `1-0.alpha < 1 < 1-sp < 1-0.alpha`, so sorting or range
//! checks could disagree with themselves); numbers compare by value at any length (Java splits
//! them into int/long/BigInteger items by digit count, so `0000000000.1` and `0.1` differ
//! there); only ASCII digits are digits (Java's `Character.isDigit` also takes e.g.
//! Arabic-Indic digits, which Maven 4 stopped doing).

use std::cmp::Ordering;

/// A number item, without leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Num {
    /// Up to 19 digits.
    Small(u64),
    /// More than 19 digits, as written (no leading zero).
    Big(Box<str>),
}

impl Num {
    fn parse(digits: &str) -> Num {
        let digits = digits.trim_start_matches('0');
        if digits.len() <= 19 {
            // At most 19 ASCII digits always fit in a u64.
            Num::Small(digits.parse().unwrap_or(0))
        } else {
            Num::Big(digits.into())
        }
    }

    fn is_zero(&self) -> bool {
        matches!(self, Num::Small(0))
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Num::Small(a), Num::Small(b)) => a.cmp(b),
            (Num::Small(_), Num::Big(_)) => Ordering::Less,
            (Num::Big(_), Num::Small(_)) => Ordering::Greater,
            (Num::Big(a), Num::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The well-known qualifiers in order; index 5 is the release (no qualifier).
const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE: u8 = 5;

/// A qualifier item after Maven's aliases (`cr` → `rc`, `ga`/`final`/`release` → `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Qualifier {
    /// Index into [`QUALIFIERS`].
    Known(u8),
    /// Any other qualifier: after all known ones, lexically among themselves.
    Other(Box<str>),
}

impl Qualifier {
    /// `StringItem(value, followedByDigit)`.
    fn new(value: &str, followed_by_digit: bool) -> Qualifier {
        let value = match value {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "ga" | "final" | "release" => "",
            "cr" => "rc",
            other => other,
        };
        match QUALIFIERS.iter().position(|known| *known == value) {
            Some(index) => Qualifier::Known(u8::try_from(index).unwrap_or(u8::MAX)),
            None => Qualifier::Other(value.into()),
        }
    }

    /// Against a missing item: `1-rc < 1`, `1-sp > 1`, `1-abc > 1`.
    fn cmp_release(&self) -> Ordering {
        match self {
            Qualifier::Known(index) => index.cmp(&RELEASE),
            Qualifier::Other(_) => Ordering::Greater,
        }
    }
}

impl Ord for Qualifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Qualifier::Known(a), Qualifier::Known(b)) => a.cmp(b),
            (Qualifier::Known(_), Qualifier::Other(_)) => Ordering::Less,
            (Qualifier::Other(_), Qualifier::Known(_)) => Ordering::Greater,
            (Qualifier::Other(a), Qualifier::Other(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Qualifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Num(Num),
    Str(Qualifier),
    List(Vec<Item>),
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Num(n) => n.is_zero(),
            Item::Str(q) => *q == Qualifier::Known(RELEASE),
            Item::List(items) => items.is_empty(),
        }
    }

    /// `Item.compareTo(Item)`, where `None` is the padding of the shorter list.
    fn cmp_to(&self, other: Option<&Item>) -> Ordering {
        match (self, other) {
            (Item::Num(n), None) => {
                if n.is_zero() {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            (Item::Num(a), Some(Item::Num(b))) => a.cmp(b),
            // 1.1 > 1-sp, 1.1 > 1-1
            (Item::Num(_), Some(Item::Str(_) | Item::List(_))) => Ordering::Greater,
            (Item::Str(q), None) => q.cmp_release(),
            (Item::Str(a), Some(Item::Str(b))) => a.cmp(b),
            // 1.any < 1.1
            (Item::Str(_), Some(Item::Num(_))) => Ordering::Less,
            (Item::Str(_), Some(list @ Item::List(_))) => list.cmp_to(Some(self)).reverse(),
            // MNG-6964: every item of the list counts against a missing item, not only the first.
            (Item::List(items), None) => items
                .iter()
                .map(|item| item.cmp_to(None))
                .find(|order| order.is_ne())
                .unwrap_or(Ordering::Equal),
            // 1-1 < 1.0.x
            (Item::List(_), Some(Item::Num(_))) => Ordering::Less,
            // A list against a qualifier compares as against the one-item list [qualifier]
            // (Maven 4's rule; Maven 3.9 said "list > qualifier", which is not transitive:
            // 1-0.alpha < 1 < 1-sp < 1-0.alpha there). Still 1-1 > 1-sp.
            (Item::List(items), Some(qualifier @ Item::Str(_))) => {
                cmp_lists(items, std::slice::from_ref(qualifier))
            }
            (Item::List(a), Some(Item::List(b))) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    for i in 0..a.len().max(b.len()) {
        let order = match (a.get(i), b.get(i)) {
            (Some(left), right) => left.cmp_to(right),
            (None, Some(right)) => right.cmp_to(None).reverse(),
            (None, None) => Ordering::Equal,
        };
        if order.is_ne() {
            return order;
        }
    }
    Ordering::Equal
}

/// A parsed Maven version: the item list `ComparableVersion` builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Items(Vec<Item>);

impl Items {
    pub(crate) fn compare(&self, other: &Items) -> Ordering {
        cmp_lists(&self.0, &other.0)
    }
}

fn parse_item(is_digit: bool, text: &str) -> Item {
    if is_digit {
        Item::Num(Num::parse(text))
    } else {
        Item::Str(Qualifier::new(text, false))
    }
}

/// `ListItem.normalize()`: drops trailing null items, looking through trailing sub-lists.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        match list.get(i) {
            Some(item) if item.is_null() => {
                list.remove(i);
            }
            Some(Item::List(_)) => {}
            _ => break,
        }
    }
}

/// The list being filled (the innermost open one).
fn current(stack: &mut [Vec<Item>]) -> Option<&mut Vec<Item>> {
    stack.last_mut()
}

fn push(stack: &mut [Vec<Item>], item: Item) {
    if let Some(list) = current(stack) {
        list.push(item);
    }
}

/// `ComparableVersion.parseVersion`. Each sub-list opened is the last item of the list it opens
/// in until parsing ends, so the lists are kept on a stack and attached when closed.
pub(crate) fn parse(text: &str) -> Items {
    let version = text.to_lowercase();
    let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
    let mut is_digit = false;
    let mut start = 0;
    let substring = |from: usize, to: usize| version.get(from..to).unwrap_or_default();
    for (i, c) in version.char_indices() {
        if c == '.' || c == '-' {
            let item = if i == start {
                Item::Num(Num::Small(0))
            } else {
                parse_item(is_digit, substring(start, i))
            };
            push(&mut stack, item);
            start = i + 1;
            if c == '-' {
                stack.push(Vec::new());
            }
        } else if c.is_ascii_digit() {
            if !is_digit && i > start {
                // 1.0.0.X1 < 1.0.0-X2: treat .X as -X for any qualifier X.
                if current(&mut stack).is_some_and(|list| !list.is_empty()) {
                    stack.push(Vec::new());
                }
                push(
                    &mut stack,
                    Item::Str(Qualifier::new(substring(start, i), true)),
                );
                start = i;
                stack.push(Vec::new());
            }
            is_digit = true;
        } else {
            if is_digit && i > start {
                push(&mut stack, parse_item(true, substring(start, i)));
                start = i;
                stack.push(Vec::new());
            }
            is_digit = false;
        }
    }
    if version.len() > start {
        if !is_digit && current(&mut stack).is_some_and(|list| !list.is_empty()) {
            stack.push(Vec::new());
        }
        push(
            &mut stack,
            parse_item(is_digit, substring(start, version.len())),
        );
    }
    while stack.len() > 1 {
        if let Some(mut list) = stack.pop() {
            normalize(&mut list);
            push(&mut stack, Item::List(list));
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    normalize(&mut root);
    Items(root)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(super) mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        parse(a).compare(&parse(b))
    }

    fn assert_order(low: &str, high: &str) {
        assert_eq!(cmp(low, high), Ordering::Less, "expected {low} < {high}");
        assert_eq!(cmp(high, low), Ordering::Greater, "expected {high} > {low}");
    }

    fn assert_equal(a: &str, b: &str) {
        assert_eq!(cmp(a, b), Ordering::Equal, "expected {a} == {b}");
        assert_eq!(cmp(b, a), Ordering::Equal, "expected {b} == {a}");
    }

    fn assert_ascending(list: &[&str]) {
        for (i, low) in list.iter().enumerate() {
            for high in list.iter().skip(i + 1) {
                assert_order(low, high);
            }
        }
    }

    // The vectors below are ComparableVersionTest's (apache/maven, maven-artifact, Maven 3.9
    // line after MNG-7644; the same lists are in Maven 4's compat/maven-artifact copy).

    /// `VERSIONS_QUALIFIER`.
    pub(crate) const VERSIONS_QUALIFIER: &[&str] = &[
        "1-alpha2snapshot",
        "1-alpha2",
        "1-alpha-123",
        "1-beta-2",
        "1-beta123",
        "1-m2",
        "1-m11",
        "1-rc",
        "1-cr2",
        "1-rc123",
        "1-SNAPSHOT",
        "1",
        "1-sp",
        "1-sp2",
        "1-sp123",
        "1-abc",
        "1-def",
        "1-pom-1",
        "1-1-snapshot",
        "1-1",
        "1-2",
        "1-123",
    ];

    /// `VERSIONS_NUMBER` (MNG-7644 order: `2.0.a` is now below `2-1`).
    pub(crate) const VERSIONS_NUMBER: &[&str] = &[
        "2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c", "2.1-1",
        "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2", "11.m11", "11",
        "11.a", "11b", "11c", "11m",
    ];

    #[test]
    fn versions_qualifier_ascend() {
        assert_ascending(VERSIONS_QUALIFIER);
    }

    #[test]
    fn versions_number_ascend() {
        assert_ascending(VERSIONS_NUMBER);
    }

    #[test]
    fn versions_equal() {
        for (a, b) in [
            ("1", "1"),
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1.0", "1.0.0"),
            ("1", "1-0"),
            ("1", "1.0-0"),
            ("1.0", "1.0-0"),
            ("1a", "1-a"),
            ("1a", "1.0-a"),
            ("1a", "1.0.0-a"),
            ("1.0a", "1-a"),
            ("1.0.0a", "1-a"),
            ("1x", "1-x"),
            ("1x", "1.0-x"),
            ("1x", "1.0.0-x"),
            ("1.0x", "1-x"),
            ("1.0.0x", "1-x"),
            ("1ga", "1"),
            ("1release", "1"),
            ("1final", "1"),
            ("1cr", "1rc"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1X", "1x"),
            ("1A", "1a"),
            ("1B", "1b"),
            ("1M", "1m"),
            ("1Ga", "1"),
            ("1GA", "1"),
            ("1RELEASE", "1"),
            ("1RELeaSE", "1"),
            ("1Final", "1"),
            ("1FinaL", "1"),
            ("1FINAL", "1"),
            ("1Cr", "1Rc"),
            ("1cR", "1rC"),
            ("1m3", "1Milestone3"),
            ("1m3", "1MileStone3"),
            ("1m3", "1MILESTONE3"),
            (
                "1-abcdefghijklmnopqrstuvwxyz",
                "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            ),
        ] {
            assert_equal(a, b);
        }
    }

    #[test]
    fn version_comparing() {
        for (low, high) in [
            ("1", "2"),
            ("1.5", "2"),
            ("1", "2.5"),
            ("1.0", "1.1"),
            ("1.1", "1.2"),
            ("1.0.0", "1.1"),
            ("1.0.1", "1.1"),
            ("1.1", "1.2.0"),
            ("1.0-alpha-1", "1.0"),
            ("1.0-alpha-1", "1.0-alpha-2"),
            ("1.0-alpha-1", "1.0-beta-1"),
            ("1.0-beta-1", "1.0-SNAPSHOT"),
            ("1.0-SNAPSHOT", "1.0"),
            ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
            ("1.0", "1.0-1"),
            ("1.0-1", "1.0-2"),
            ("1.0.0", "1.0-1"),
            ("2.0-1", "2.0.1"),
            ("2.0.1-klm", "2.0.1-lmn"),
            ("2.0.1", "2.0.1-xyz"),
            ("2.0.1", "2.0.1-123"),
            ("2.0.1-xyz", "2.0.1-123"),
            // testLeadingZeroes
            ("0.7", "2"),
            ("0.2", "1.0.7"),
        ] {
            assert_order(low, high);
        }
    }

    /// MNG-5568: a version with a letter in the middle kept transitivity.
    #[test]
    fn mng_5568_transitive() {
        assert_order("6.1.0rc3", "6.1.0");
        assert_order("6.1.0rc3", "6.1H.5-beta");
        assert_order("6.1.0", "6.1H.5-beta");
    }

    /// MNG-6572: numbers beyond int and long range.
    #[test]
    fn mng_6572_big_numbers() {
        let (a, b, c, d) = (
            "20190126.230843",
            "1234567890.12345",
            "123456789012345.1H.5-beta",
            "12345678901234567890.1H.5-beta",
        );
        assert_ascending(&[a, b, c, d]);
    }

    #[test]
    fn leading_zeroes_are_equal() {
        let ones: Vec<String> = (0..19).map(|n| format!("{}1", "0".repeat(n))).collect();
        let zeros: Vec<String> = (1..20).map(|n| "0".repeat(n)).collect();
        for set in [ones, zeros] {
            for a in &set {
                for b in &set {
                    assert_equal(a, b);
                }
            }
        }
    }

    /// Maven 3.9's list-versus-qualifier rule made these three a cycle; Maven 4's is transitive.
    #[test]
    fn list_against_qualifier_is_transitive() {
        assert_ascending(&["1-0.alpha", "1-SNAPSHOT", "1", "1-sp", "1-1"]);
        assert_ascending(&["1-0.alpha", "1-0.beta", "1-beta-1"]);
        assert_equal("1-0.alpha", "1-alpha");
    }

    /// MNG-6964: `1-0.alpha` was equal to `1`.
    #[test]
    fn mng_6964_qualifier_after_zero() {
        assert_order("1-0.alpha", "1");
        assert_order("1-0.beta", "1");
        assert_order("1-0.alpha", "1-0.beta");
    }

    /// MNG-7644: `1.0.0.X1 < 1.0.0-X2` and `2.0.X == 2-X == 2.0.0.X` for any qualifier X.
    #[test]
    fn mng_7644_dot_qualifier_is_hyphen_qualifier() {
        for x in [
            "abc",
            "alpha",
            "a",
            "beta",
            "b",
            "def",
            "milestone",
            "m",
            "RC",
        ] {
            assert_order(&format!("1.0.0.{x}1"), &format!("1.0.0-{x}2"));
            assert_equal(&format!("2-{x}"), &format!("2.0.{x}"));
            assert_equal(&format!("2-{x}"), &format!("2.0.0.{x}"));
            assert_equal(&format!("2.0.{x}"), &format!("2.0.0.{x}"));
        }
    }

    /// Real Maven versions OSV advisories use (GHSA Maven ranges): release trains and vendor
    /// suffixes.
    #[test]
    fn real_world_versions() {
        assert_order("2.14.0-rc1", "2.14.0");
        assert_order("2.13.4", "2.13.4.1");
        assert_order("2.13.4.1", "2.13.4.2");
        assert_order("5.3.17", "5.3.18");
        assert_order("1.2.17", "2.0-beta9");
        assert_order("2.0-beta9", "2.0-rc1");
        assert_order("2.0-rc1", "2.0");
        assert_order("2.15.0", "2.16.0");
        assert_order("9.4.43.v20210629", "9.4.44.v20210927");
        assert_order("1.0.0.Final", "1.0.1.Final");
        assert_equal("1.0.0.Final", "1.0.0");
        assert_order("1.0.0-SNAPSHOT", "1.0.0");
        assert_order("3.0.0-M1", "3.0.0-M2");
        assert_order("3.0.0-M9", "3.0.0-RC1");
    }
}
