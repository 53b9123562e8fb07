use serde_json::json;

use super::*;

fn build(ops: &[serde_json::Value]) -> NodeTree {
    let mut tree = NodeTree::new();
    for op in ops {
        tree.apply(&TreeOp::from_compact(op).unwrap()).unwrap();
    }
    tree
}

fn sample() -> NodeTree {
    build(&[
        json!([0, 1, "body", "body"]),
        json!([0, 2, "page", "page"]),
        json!([21, 2, "pages/index/index"]),
        json!([3, 1, 2]),
        json!([0, 3, "view", "wx-view"]),
        json!([14, 3, "list", 0]),
        json!([11, 3, "main"]),
        json!([3, 2, 3]),
        json!([2, 4]),
        json!([0, 5, "text", "wx-text"]),
        json!([1, 6, "one"]),
        json!([3, 5, 6]),
        json!([0, 7, "text", "wx-text"]),
        json!([1, 8, "two"]),
        json!([3, 7, 8]),
        json!([3, 4, 5]),
        json!([3, 4, 7]),
        json!([8, 3, 4]),
    ])
}

#[test]
fn prints_wxml() {
    let tree = sample();
    insta::assert_snapshot!(tree.to_wxml(1, PrintOptions::default()), @r#"
    <body>
      <page route="pages/index/index">
        <view id="main" class="list">
          <text>one</text>
          <text>two</text>
        </view>
      </page>
    </body>
    "#);
}

#[test]
fn splices_and_removes() {
    let mut tree = sample();
    tree.apply(&TreeOp::SpliceRemove {
        parent: 3,
        before: 5,
        delete_count: 1,
    })
    .unwrap();
    assert_eq!(tree.text_content(3), "two");
    tree.apply(&TreeOp::CreateFragment { id: 9 }).unwrap();
    tree.apply(&TreeOp::CreateText {
        id: 10,
        text: "zero".into(),
    })
    .unwrap();
    tree.apply(&TreeOp::AppendChild {
        parent: 9,
        child: 10,
    })
    .unwrap();
    tree.apply(&TreeOp::SpliceBefore {
        parent: 3,
        before: 7,
        delete_count: 0,
        list: 9,
    })
    .unwrap();
    assert_eq!(tree.text_content(3), "zerotwo");
    tree.apply(&TreeOp::SetText {
        id: 10,
        text: "0".into(),
    })
    .unwrap();
    assert_eq!(tree.text_content(1), "0two");
}

#[test]
fn bad_ops_are_errors_not_panics() {
    let mut tree = sample();
    assert!(
        tree.apply(&TreeOp::AppendChild {
            parent: 99,
            child: 3
        })
        .is_err()
    );
    assert!(
        tree.apply(&TreeOp::InsertBefore {
            parent: 2,
            child: 5,
            before: 99
        })
        .is_err()
    );
    assert!(
        tree.apply(&TreeOp::SetText {
            id: 3,
            text: "x".into()
        })
        .is_err()
    );
    assert!(
        tree.apply(&TreeOp::SpliceRemove {
            parent: 2,
            before: 6,
            delete_count: 9
        })
        .is_err()
    );
    assert_eq!(tree.text_content(1), "onetwo");
}

#[test]
fn selectors() {
    let tree = sample();
    let q = |s: &str| tree.select_all(1, &Selector::parse(s).unwrap());
    assert_eq!(q("text"), [5, 7]);
    assert_eq!(q(".list > text"), [5, 7]);
    assert_eq!(q("page text"), [5, 7]);
    assert_eq!(q("#main"), [3]);
    assert_eq!(q("view.list#main"), [3]);
    assert_eq!(q("body > text"), Vec::<NodeId>::new());
    assert_eq!(q("text, #main"), [3, 5, 7]);
    assert!(Selector::parse("").is_err());
    assert!(Selector::parse("a[b").is_err());
    assert!(Selector::parse("a !b").is_err());
}
