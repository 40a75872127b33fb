//! Property tests of the Kubernetes name validators against the Kubernetes rules.

use fleet::config::names::{
    check_configmap_key, check_dns1123_label, check_label_key, check_label_value, is_go_identifier,
    suggest_dns1123_label,
};
use proptest::prelude::*;

/// The shape shared by label names and values (`[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`).
const SEGMENT: &str = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const DNS_LABEL: &str = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

fn reference_segment(s: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
        && s.starts_with(alnum)
        && s.ends_with(alnum)
}

fn reference_dns_label(s: &str) -> bool {
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| ok(c) || c == '-')
        && s.starts_with(ok)
        && s.ends_with(ok)
}

proptest! {
    #[test]
    fn generated_dns_labels_are_accepted(s in DNS_LABEL) {
        prop_assert_eq!(check_dns1123_label(&s), Ok(()));
    }

    #[test]
    fn dns_label_agrees_with_the_rule(s in "[a-zA-Z0-9._/ -]{0,70}") {
        prop_assert_eq!(check_dns1123_label(&s).is_ok(), reference_dns_label(&s));
    }

    #[test]
    fn suggested_names_are_valid(s in "\\PC{1,80}") {
        if let Some(fixed) = suggest_dns1123_label(&s) {
            prop_assert_eq!(check_dns1123_label(&fixed), Ok(()));
        }
    }

    #[test]
    fn generated_label_keys_are_accepted(prefix in proptest::option::of("[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\\.[a-z0-9]{1,10}){0,3}"), name in SEGMENT) {
        let key = match prefix {
            Some(prefix) => format!("{prefix}/{name}"),
            None => name,
        };
        prop_assert_eq!(check_label_key(&key), Ok(()));
    }

    #[test]
    fn label_key_agrees_with_the_rule(s in "[a-zA-Z0-9._/ -]{0,80}") {
        let expected = match s.split_once('/') {
            None => reference_segment(&s),
            Some((prefix, name)) => {
                !name.contains('/')
                    && prefix.len() <= 253
                    && !prefix.is_empty()
                    && prefix.split('.').all(reference_dns_label)
                    && reference_segment(name)
            }
        };
        prop_assert_eq!(check_label_key(&s).is_ok(), expected, "{:?}", s);
    }

    #[test]
    fn label_value_agrees_with_the_rule(s in "[a-zA-Z0-9._/ -]{0,70}") {
        prop_assert_eq!(check_label_value(&s).is_ok(), s.is_empty() || reference_segment(&s));
    }

    #[test]
    fn long_label_parts_are_rejected(s in "[a-z]{64,100}") {
        prop_assert!(check_label_value(&s).is_err());
        prop_assert!(check_label_key(&s).is_err());
        prop_assert!(check_dns1123_label(&s).is_err());
        let prefixed = format!("{}/x", "a".repeat(254));
        prop_assert!(check_label_key(&prefixed).is_err());
    }

    #[test]
    fn go_identifiers_are_valid_configmap_keys(s in "[A-Za-z_][A-Za-z0-9_]{0,40}") {
        prop_assert_eq!(check_configmap_key(&s), Ok(()));
        let keyword = ["type", "range", "map", "default", "func", "go"].contains(&s.as_str());
        prop_assert_eq!(is_go_identifier(&s), !keyword);
    }

    #[test]
    fn configmap_key_agrees_with_the_rule(s in "[a-zA-Z0-9._/ -]{0,40}") {
        let expected = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && s != "."
            && !s.starts_with("..");
        prop_assert_eq!(check_configmap_key(&s).is_ok(), expected);
    }
}
