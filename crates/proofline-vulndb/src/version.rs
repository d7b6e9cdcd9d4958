//! Version ordering per ecosystem, each by its own rules (Debian policy, apk-tools, PEP 440,
//! SemVer 2.0 precedence, Go module versions, Maven's ComparableVersion): the comparisons OSV
//! ranges are defined over.
