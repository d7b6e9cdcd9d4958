//! The merged filesystem: whiteouts, opaque directories, compressions, hardlinks, content
//! delivery, and the `ls` line format, over real layouts written to temp dirs.
#![allow(clippy::unwrap_used)]

mod common;

use std::ops::ControlFlow;

use common::*;
use proofline_oci::{EntryType, Image, OpenOptions, WalkOptions, resolve_in_root};

fn walk_layers(layers: &[Layer]) -> (Vec<proofline_oci::Entry>, proofline_oci::WalkReport) {
    let dir = tempfile::tempdir().unwrap();
    write_layout(dir.path(), layers, None);
    walk_ref(
        &oci_ref(dir.path()),
        &OpenOptions::default(),
        &WalkOptions::default(),
    )
    .unwrap()
}

#[test]
fn whiteouts_and_opaque_dirs_across_three_layers() {
    let base = layer(
        &[
            Node::Dir("etc/"),
            file("etc/passwd", "root:x:0:0\n"),
            file("etc/shadow", "root:*\n"),
            Node::Dir("app/"),
            file("app/old.txt", "old"),
            Node::Dir("app/sub/"),
            file("app/sub/deep.txt", "deep"),
            Node::Dir("var/"),
            Node::Dir("var/cache/"),
            file("var/cache/a", "a"),
            Node::Dir("opt/"),
            file("opt/tool", "v1"),
            Node::Dir("lib/"),
            file("lib/libx.so", "x"),
        ],
        Comp::Gzip,
    );
    // Middle: delete /etc/shadow and the whole /var/cache, make /app opaque and refill it,
    // replace /lib (a directory below) with a symlink.
    let middle = layer(
        &[
            file("etc/.wh.shadow", ""),
            file("var/.wh.cache", ""),
            Node::Dir("app/"),
            file("app/.wh..wh..opq", ""),
            file("app/new.txt", "new"),
            Node::Symlink("lib", "usr/lib"),
            file("opt/tool", "v2"),
        ],
        Comp::Zstd,
    );
    // Top: re-create /var/cache (whited out below) with one file, and delete /app/new.txt.
    let top = layer(
        &[
            Node::Dir("var/cache/"),
            file("var/cache/b", "b"),
            file("app/.wh.new.txt", ""),
            file("opt/tool", "v3"),
        ],
        Comp::None,
    );
    let (entries, report) = walk_layers(&[base, middle, top]);
    assert_eq!(
        paths(&entries),
        [
            // the top layer first, in tar order
            "/var/cache dir",
            "/var/cache/b file",
            "/opt/tool file",
            // then what the middle layer adds (its /app/new.txt is whited out by the top)
            "/app dir",
            "/lib symlink",
            // then the base: /etc/shadow, /var/cache/a, /app/* and /lib/* are hidden
            "/etc dir",
            "/etc/passwd file",
            "/var dir",
            "/opt dir",
        ],
        "got {:#?}",
        paths(&entries)
    );
    let tool = entries.iter().find(|e| e.path == "/opt/tool").unwrap();
    assert_eq!(
        tool.sha256.as_deref(),
        Some(sha256_hex(b"v3").as_str()),
        "the top layer's version wins"
    );
    assert_eq!(tool.layer, 2);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.stats.layers, 3);
    assert!(
        entries.iter().all(|e| !e.path.contains(".wh.")),
        "whiteout files never appear"
    );
}

#[test]
fn whiteout_applies_only_to_lower_layers() {
    // A layer that deletes and re-creates a path keeps its own copy.
    let base = layer(&[file("a", "base")], Comp::None);
    let top = layer(
        &[
            file(".wh.a", ""),
            file("a", "top"),
            Node::Dir("d/"),
            file("d/.wh..wh..opq", ""),
            file("d/x", "kept"),
        ],
        Comp::None,
    );
    let (entries, _) = walk_layers(&[base, top]);
    assert_eq!(paths(&entries), ["/a file", "/d dir", "/d/x file"]);
    assert_eq!(
        entries[0].sha256.as_deref(),
        Some(sha256_hex(b"top").as_str())
    );
}

#[test]
fn opaque_root_and_whiteout_of_a_directory_hide_everything_below() {
    let base = layer(
        &[
            Node::Dir("x/"),
            Node::Dir("x/y/"),
            file("x/y/z", "z"),
            file("keep", "k"),
        ],
        Comp::Gzip,
    );
    let mid = layer(&[file(".wh.x", "")], Comp::Gzip);
    let (entries, _) = walk_layers(&[base.clone(), mid]);
    assert_eq!(paths(&entries), ["/keep file"]);
    let top = layer(&[file(".wh..wh..opq", ""), file("only", "o")], Comp::Gzip);
    let (entries, _) = walk_layers(&[base, top]);
    assert_eq!(paths(&entries), ["/only file"]);
}

#[test]
fn gzip_zstd_and_plain_layers_give_the_same_listing() {
    let nodes = [
        Node::Dir("usr/"),
        Node::Dir("usr/bin/"),
        file("usr/bin/tool", "#!/bin/sh\necho hi\n"),
        Node::Symlink("usr/bin/t", "tool"),
    ];
    let listings: Vec<Vec<String>> = [Comp::None, Comp::Gzip, Comp::Zstd]
        .into_iter()
        .map(|c| {
            let (entries, report) = walk_layers(&[layer(&nodes, c)]);
            assert!(report.warnings.is_empty());
            entries
                .iter()
                .map(|e| serde_json::to_string(e).unwrap())
                .collect()
        })
        .collect();
    assert_eq!(listings[0], listings[1]);
    assert_eq!(listings[0], listings[2]);
    assert_eq!(listings[0].len(), 4);
}

#[test]
fn multi_member_gzip_is_read_whole() {
    // Two gzip members concatenated: a valid gzip stream some tools produce.
    let tar = tar_of(&[file("a", "1"), file("b", "2")]);
    let (first, second) = tar.split_at(512 * 2);
    let gz = |b: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    };
    let mut blob = gz(first);
    blob.extend(gz(second));
    let l = Layer {
        blob,
        media_type: TAR_GZIP.into(),
        diff_id: proofline_oci::Digest::of(&tar),
    };
    let (entries, _) = walk_layers(&[l]);
    assert_eq!(paths(&entries), ["/a file", "/b file"]);
}

#[test]
fn media_type_lies_are_corrected_by_magic_bytes() {
    let mut l = layer(&[file("a", "1")], Comp::Gzip);
    l.media_type = TAR.into();
    let (entries, report) = walk_layers(&[l]);
    assert_eq!(paths(&entries), ["/a file"]);
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].code.as_str(), "media-type-mismatch");
}

#[test]
fn hardlinks_point_at_absolute_paths() {
    let l = layer(
        &[
            Node::Dir("usr/"),
            file("usr/perl", "perl"),
            Node::Hardlink("usr/perl5.36", "usr/perl"),
            Node::Hardlink("./usr/p2", "./usr/perl"),
        ],
        Comp::Gzip,
    );
    let (entries, _) = walk_layers(&[l]);
    let link = entries.iter().find(|e| e.path == "/usr/perl5.36").unwrap();
    assert_eq!(link.kind, EntryType::Hardlink);
    assert_eq!(link.link.as_deref(), Some("/usr/perl"));
    assert_eq!(link.sha256, None);
    assert_eq!(link.size, 0);
    let p2 = entries.iter().find(|e| e.path == "/usr/p2").unwrap();
    assert_eq!(p2.link.as_deref(), Some("/usr/perl"));
}

#[test]
fn other_entry_types_and_the_root_entry() {
    let l = layer(
        &[Node::Dir("./"), Node::Fifo("run/fifo"), file("./x", "")],
        Comp::None,
    );
    let (entries, _) = walk_layers(&[l]);
    assert_eq!(
        paths(&entries),
        ["/run/fifo other", "/x file"],
        "the root `./` is not listed"
    );
    assert_eq!(entries[1].sha256.as_deref(), Some(sha256_hex(b"").as_str()));
}

#[test]
fn content_of_selected_files_is_delivered_in_the_same_pass() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(5000);
    write_layout(
        dir.path(),
        &[layer(
            &[
                Node::Dir("var/lib/dpkg/"),
                file("var/lib/dpkg/status", "Package: bash\n"),
                file("var/lib/dpkg/huge", &big),
                file("other", "no"),
            ],
            Comp::Gzip,
        )],
        None,
    );
    let image = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap();
    let mut opts = WalkOptions::default().with_content(|p| p.starts_with("/var/lib/dpkg/"));
    opts.max_content_bytes = 1000;
    let mut got = Vec::new();
    let report = image
        .walk(&opts, |e| {
            got.push((e.path.clone(), e.content.clone(), e.sha256.clone()));
            ControlFlow::Continue(())
        })
        .unwrap();
    let status = got.iter().find(|g| g.0 == "/var/lib/dpkg/status").unwrap();
    assert_eq!(status.1.as_deref(), Some(&b"Package: bash\n"[..]));
    assert_eq!(
        status.2.as_deref(),
        Some(sha256_hex(b"Package: bash\n").as_str()),
        "hashed too"
    );
    let huge = got.iter().find(|g| g.0 == "/var/lib/dpkg/huge").unwrap();
    assert_eq!(huge.1, None, "over the content limit");
    assert_eq!(huge.2.as_deref(), Some(sha256_hex(big.as_bytes()).as_str()));
    assert_eq!(
        got.iter().find(|g| g.0 == "/other").unwrap().1,
        None,
        "not selected"
    );
    assert_eq!(
        report
            .warnings
            .iter()
            .map(|w| w.code.as_str())
            .collect::<Vec<_>>(),
        ["content-too-large"]
    );
}

#[test]
fn files_are_delivered_by_their_first_bytes_whatever_their_name() {
    let dir = tempfile::tempdir().unwrap();
    // Larger than one read buffer, so the decision is made on the first chunk and the rest
    // is still collected; and a file shorter than the sniff window.
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.extend(std::iter::repeat_n(b'e', 600_000));
    let elf_text = String::from_utf8(elf.clone()).unwrap();
    let big_elf = format!("\x7fELF{}", "b".repeat(3000));
    write_layout(
        dir.path(),
        &[layer(
            &[
                Node::Dir("app/"),
                file("app/server", &elf_text),
                file("app/tiny", "\x7fELF"),
                file("app/big", &big_elf),
                file("app/script.sh", "#!/bin/sh\n"),
                file("app/empty", ""),
            ],
            Comp::Gzip,
        )],
        None,
    );
    let image = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap();
    let opts = WalkOptions::default()
        .with_sniff(|path, head| {
            assert!(
                head.len() == proofline_oci::SNIFF_BYTES
                    || ["/app/tiny", "/app/script.sh"].contains(&path)
            );
            head.starts_with(b"\x7fELF")
        })
        .with_max_content_bytes(700_000);
    let mut got = std::collections::BTreeMap::new();
    image
        .walk(&opts, |e| {
            got.insert(e.path.clone(), (e.content.clone(), e.sha256.clone()));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(got["/app/server"].0.as_deref(), Some(elf.as_slice()));
    assert_eq!(
        got["/app/server"].1.as_deref(),
        Some(sha256_hex(&elf).as_str()),
        "still hashed"
    );
    assert_eq!(got["/app/tiny"].0.as_deref(), Some(&b"\x7fELF"[..]));
    assert_eq!(got["/app/big"].0.as_deref(), Some(big_elf.as_bytes()));
    assert_eq!(got["/app/script.sh"].0, None, "not an ELF file");
    assert_eq!(got["/app/empty"].0, None);

    let small = WalkOptions::default()
        .with_sniff(|_, head| head.starts_with(b"\x7fELF"))
        .with_max_content_bytes(1000);
    let report = image.walk(&small, |_| ControlFlow::Continue(())).unwrap();
    let too_large: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.code.as_str() == "content-too-large")
        .filter_map(|w| w.path.clone())
        .collect();
    assert_eq!(too_large, ["/app/server", "/app/big"]);
}

#[test]
fn files_upper_layers_hid_are_delivered_only_when_asked_and_marked() {
    let dir = tempfile::tempdir().unwrap();
    let base = layer(
        &[
            Node::Dir("var/"),
            Node::Dir("var/lib/"),
            Node::Dir("var/lib/dpkg/"),
            file("var/lib/dpkg/status", "Package: bash\n"),
            file("x", "old"),
            file("y", "kept"),
        ],
        Comp::Gzip,
    );
    let top = layer(
        &[
            Node::Dir("var/"),
            Node::Dir("var/lib/"),
            file("var/lib/.wh.dpkg", ""),
            file("x", "new"),
        ],
        Comp::Gzip,
    );
    write_layout(dir.path(), &[base, top], None);
    let image = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap();
    let collect = |opts: &WalkOptions| {
        let mut got = Vec::new();
        image
            .walk(opts, |e| {
                if e.kind == EntryType::File {
                    got.push((e.path.clone(), e.hidden, e.content.clone(), e.layer));
                }
                ControlFlow::Continue(())
            })
            .unwrap();
        got.sort();
        got
    };
    // MD5 in the same pass, on request only.
    let mut md5s = Vec::new();
    image
        .walk(&WalkOptions::default().with_md5(), |e| {
            md5s.push((e.path.clone(), e.md5.clone()));
            ControlFlow::Continue(())
        })
        .unwrap();
    assert!(
        md5s.contains(&(
            "/y".to_string(),
            Some("4d8b6084f3d167b76cac66a22a91be02".to_string())
        )),
        "{md5s:?}"
    );
    let plain = collect(&WalkOptions::default().with_content(|_| true));
    assert!(plain.iter().all(|g| !g.1), "{plain:?}");
    assert_eq!(plain.len(), 2, "{plain:?}");
    let with_hidden = collect(
        &WalkOptions::default()
            .with_content(|p| p != "/y")
            .with_hidden(),
    );
    let hidden: Vec<_> = with_hidden
        .iter()
        .filter(|g| g.1)
        .map(|g| (g.0.as_str(), g.2.as_deref(), g.3))
        .collect();
    assert_eq!(
        hidden,
        [
            ("/var/lib/dpkg/status", Some(&b"Package: bash\n"[..]), 0),
            ("/x", Some(&b"old"[..]), 0),
        ]
    );
    let visible: Vec<_> = with_hidden
        .iter()
        .filter(|g| !g.1)
        .map(|g| g.0.as_str())
        .collect();
    assert_eq!(visible, ["/x", "/y"]);
}

#[test]
fn hashing_can_be_turned_off_and_walks_can_stop_early() {
    let dir = tempfile::tempdir().unwrap();
    write_layout(
        dir.path(),
        &[layer(
            &[file("a", "1"), file("b", "2"), file("c", "3")],
            Comp::Zstd,
        )],
        None,
    );
    let image = Image::open(&oci_ref(dir.path()), &OpenOptions::default()).unwrap();
    let opts = WalkOptions {
        hash_files: false,
        ..Default::default()
    };
    let mut seen = Vec::new();
    let report = image
        .walk(&opts, |e| {
            seen.push(e.clone());
            if seen.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|e| e.sha256.is_none()));
    assert!(report.stats.stopped_early);
    assert_eq!(
        report.stats.layers, 0,
        "the stopped layer is not counted as verified"
    );
}

#[test]
fn ls_lines_have_exactly_the_documented_keys_in_order() {
    let (entries, _) = walk_layers(&[layer(
        &[Node::Symlink("bin", "usr/bin"), file("f", "x")],
        Comp::None,
    )]);
    let line = serde_json::to_string(&entries[0]).unwrap();
    assert_eq!(
        line,
        r#"{"path":"/bin","type":"symlink","mode":511,"uid":0,"gid":0,"size":0,"sha256":null,"link":"usr/bin"}"#
    );
    let v: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&entries[1]).unwrap()).unwrap();
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "path", "type", "mode", "uid", "gid", "size", "sha256", "link"
        ]
    );
}

#[test]
fn ls_snapshot_of_a_small_image() {
    let dir = tempfile::tempdir().unwrap();
    let base = layer(
        &[
            Node::Dir("etc/"),
            file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            Node::Dir("usr/"),
            Node::Dir("usr/bin/"),
            file("usr/bin/app", "#!/bin/sh\nexec true\n"),
            Node::Hardlink("usr/bin/app2", "usr/bin/app"),
            Node::Symlink("bin", "usr/bin"),
            Node::Dir("tmp/"),
            file("tmp/scratch", "gone"),
        ],
        Comp::Gzip,
    );
    let top = layer(
        &[
            Node::Dir("tmp/"),
            file("tmp/.wh.scratch", ""),
            file("etc/motd", "hello\n"),
        ],
        Comp::Zstd,
    );
    write_layout(dir.path(), &[base, top], Some("1.0"));
    insta::assert_snapshot!("ls_small_image", ls(&oci_ref(dir.path())).join("\n"));
}

#[test]
fn resolve_in_root_is_exported() {
    assert_eq!(
        resolve_in_root("/usr/lib/libz.so", "../../../../lib/libz.so.1"),
        "/lib/libz.so.1"
    );
}
