//! The wire types between the engine and whatever shows its pages: tree
//! operations flow from the engine to a view (the Rust `NodeTree`, the browser
//! view client), events flow back.
//!
//! Tree operations are produced by the engine's JS backend as compact arrays
//! (`[opcode, ...args]`), one batch per task, because that is the cheapest
//! thing to build in JS; [`TreeOp::from_compact`] decodes them. Serialized
//! for other consumers they are tagged objects.
//!
//! **Architecture invariant:** only serde types and their codecs live here;
//! this crate is the single place wire formats are defined.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bump on any incompatible change of these types.
pub const PROTOCOL_VERSION: u32 = 1;

/// A node's id, assigned by the engine's backend, stable for the node's life.
pub type NodeId = u32;

/// One change to the composed node tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum TreeOp {
    /// `tag` is the name used in the template (`view`, `wux-button`);
    /// `styling` is the name styles match against.
    CreateElement {
        id: NodeId,
        tag: String,
        styling: String,
    },
    CreateText {
        id: NodeId,
        text: String,
    },
    CreateFragment {
        id: NodeId,
    },
    AppendChild {
        parent: NodeId,
        child: NodeId,
    },
    InsertBefore {
        parent: NodeId,
        child: NodeId,
        before: NodeId,
    },
    RemoveChild {
        parent: NodeId,
        child: NodeId,
    },
    ReplaceChild {
        parent: NodeId,
        child: NodeId,
        old: NodeId,
    },
    /// Replaces `delete_count` children of `parent` starting at `before`
    /// with the children of the fragment `list`.
    SpliceBefore {
        parent: NodeId,
        before: NodeId,
        delete_count: u32,
        list: NodeId,
    },
    SpliceAppend {
        parent: NodeId,
        list: NodeId,
    },
    SpliceRemove {
        parent: NodeId,
        before: NodeId,
        delete_count: u32,
    },
    Release {
        id: NodeId,
    },
    SetId {
        id: NodeId,
        value: String,
    },
    SetStyle {
        id: NodeId,
        style: String,
    },
    SetStyleScope {
        id: NodeId,
        scope: u32,
    },
    AddClass {
        id: NodeId,
        class: String,
        scope: u32,
    },
    RemoveClass {
        id: NodeId,
        class: String,
        scope: u32,
    },
    ClearClasses {
        id: NodeId,
    },
    SetAttribute {
        id: NodeId,
        name: String,
        value: Value,
    },
    RemoveAttribute {
        id: NodeId,
        name: String,
    },
    SetText {
        id: NodeId,
        text: String,
    },
    /// Someone listens to `event` on the node (so a view should report it).
    SetListener {
        id: NodeId,
        event: String,
        capture: bool,
    },
    /// The page container the engine mounts a page into.
    MountPage {
        id: NodeId,
        page: String,
    },
    /// The node hosts a custom component: `tag` as written in the template
    /// (`wux-button`), `is` the component's path.
    SetComponent {
        id: NodeId,
        tag: String,
        is: String,
    },
}

/// Why a compact op could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad tree op {op}: {reason}")]
pub struct OpDecodeError {
    pub op: String,
    pub reason: &'static str,
}

impl TreeOp {
    /// Decodes one `[opcode, ...args]` array as the JS backend writes it.
    pub fn from_compact(value: &Value) -> Result<TreeOp, OpDecodeError> {
        let fail = |reason| OpDecodeError {
            op: value.to_string(),
            reason,
        };
        let items = value.as_array().ok_or_else(|| fail("not an array"))?;
        let id = |i: usize| -> Result<NodeId, OpDecodeError> {
            items
                .get(i)
                .and_then(Value::as_u64)
                .and_then(|n| NodeId::try_from(n).ok())
                .ok_or_else(|| fail("expected a node id"))
        };
        let string = |i: usize| -> Result<String, OpDecodeError> {
            match items.get(i) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Null) | None => Ok(String::new()),
                Some(other) => Ok(other.to_string()),
            }
        };
        let number = |i: usize| -> u32 {
            items
                .get(i)
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0)
        };
        let opcode = items
            .first()
            .and_then(Value::as_u64)
            .ok_or_else(|| fail("no opcode"))?;
        Ok(match opcode {
            0 => TreeOp::CreateElement {
                id: id(1)?,
                tag: string(2)?,
                styling: string(3)?,
            },
            1 => TreeOp::CreateText {
                id: id(1)?,
                text: string(2)?,
            },
            2 => TreeOp::CreateFragment { id: id(1)? },
            3 => TreeOp::AppendChild {
                parent: id(1)?,
                child: id(2)?,
            },
            4 => TreeOp::InsertBefore {
                parent: id(1)?,
                child: id(2)?,
                before: id(3)?,
            },
            5 => TreeOp::RemoveChild {
                parent: id(1)?,
                child: id(2)?,
            },
            6 => TreeOp::ReplaceChild {
                parent: id(1)?,
                child: id(2)?,
                old: id(3)?,
            },
            7 => TreeOp::SpliceBefore {
                parent: id(1)?,
                before: id(2)?,
                delete_count: number(3),
                list: id(4)?,
            },
            8 => TreeOp::SpliceAppend {
                parent: id(1)?,
                list: id(2)?,
            },
            9 => TreeOp::SpliceRemove {
                parent: id(1)?,
                before: id(2)?,
                delete_count: number(3),
            },
            10 => TreeOp::Release { id: id(1)? },
            11 => TreeOp::SetId {
                id: id(1)?,
                value: string(2)?,
            },
            12 => TreeOp::SetStyle {
                id: id(1)?,
                style: string(2)?,
            },
            13 => TreeOp::SetStyleScope {
                id: id(1)?,
                scope: number(2),
            },
            14 => TreeOp::AddClass {
                id: id(1)?,
                class: string(2)?,
                scope: number(3),
            },
            15 => TreeOp::RemoveClass {
                id: id(1)?,
                class: string(2)?,
                scope: number(3),
            },
            16 => TreeOp::ClearClasses { id: id(1)? },
            17 => TreeOp::SetAttribute {
                id: id(1)?,
                name: string(2)?,
                value: items.get(3).cloned().unwrap_or(Value::Null),
            },
            18 => TreeOp::RemoveAttribute {
                id: id(1)?,
                name: string(2)?,
            },
            19 => TreeOp::SetText {
                id: id(1)?,
                text: string(2)?,
            },
            20 => TreeOp::SetListener {
                id: id(1)?,
                event: string(2)?,
                capture: items.get(3).and_then(Value::as_bool).unwrap_or(false),
            },
            21 => TreeOp::MountPage {
                id: id(1)?,
                page: string(2)?,
            },
            22 => TreeOp::SetComponent {
                id: id(1)?,
                tag: string(2)?,
                is: string(3)?,
            },
            _ => return Err(fail("unknown opcode")),
        })
    }
}

/// An event a view reports back to the engine (a tap, an input…), with
/// WeChat's event fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewEvent {
    /// `tap`, `input`, `change`, `touchstart`…
    #[serde(rename = "type")]
    pub kind: String,
    pub target: NodeId,
    #[serde(default)]
    pub detail: Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_ops_decode() {
        assert_eq!(
            TreeOp::from_compact(&json!([0, 3, "view", "wx-view"])),
            Ok(TreeOp::CreateElement {
                id: 3,
                tag: "view".into(),
                styling: "wx-view".into()
            })
        );
        assert_eq!(
            TreeOp::from_compact(&json!([7, 1, 2, 3, 4])),
            Ok(TreeOp::SpliceBefore {
                parent: 1,
                before: 2,
                delete_count: 3,
                list: 4
            })
        );
        assert!(TreeOp::from_compact(&json!([99])).is_err());
        assert!(TreeOp::from_compact(&json!([3, "x", 1])).is_err());
        assert!(TreeOp::from_compact(&json!("nope")).is_err());
    }

    #[test]
    fn ops_serialize_tagged() {
        let op = TreeOp::SetText {
            id: 4,
            text: "hi".into(),
        };
        assert_eq!(
            serde_json::to_value(&op).unwrap(),
            json!({"op": "setText", "id": 4, "text": "hi"})
        );
    }
}
