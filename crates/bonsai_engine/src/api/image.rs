//! `wx.getImageInfo`: an image's size and type, read from its header, for
//! files the app holds (`wxfile://…`) and for network images, which are
//! downloaded through the host's provider under the downloadFile allow-list
//! as WeChat does.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiKind, ApiResult, ApiSpec, Capability, options};
use crate::HostState;

/// Width, height and WeChat's type name from an image's first bytes.
pub(crate) fn image_size(bytes: &[u8]) -> Option<(u32, u32, &'static str)> {
    let be16 = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_be_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let le16 = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_le_bytes(
            bytes.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    let be32 = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let le24 = |at: usize| -> Option<u32> {
        let b = bytes.get(at..at + 3)?;
        Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
    };
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some((be32(16)?, be32(20)?, "png"));
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some((le16(6)?, le16(8)?, "gif"));
    }
    if bytes.starts_with(b"BM") {
        let height = i32::from_le_bytes(bytes.get(22..26)?.try_into().ok()?);
        return Some((be32(18)?.swap_bytes(), height.unsigned_abs(), "bmp"));
    }
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return match bytes.get(12..16)? {
            b"VP8 " => Some((le16(26)? & 0x3fff, le16(28)? & 0x3fff, "webp")),
            b"VP8L" => {
                let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
                Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1, "webp"))
            }
            b"VP8X" => Some((le24(24)? + 1, le24(27)? + 1, "webp")),
            _ => None,
        };
    }
    if bytes.starts_with(&[0xff, 0xd8]) {
        // Walk the segments to the first start-of-frame marker.
        let mut at = 2;
        while at + 4 <= bytes.len() {
            if bytes[at] != 0xff {
                return None;
            }
            let marker = bytes[at + 1];
            if marker == 0xff {
                at += 1;
                continue;
            }
            let length = be16(at + 2)? as usize;
            let is_frame = matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc);
            if is_frame {
                return Some((be16(at + 7)?, be16(at + 5)?, "jpeg"));
            }
            at += 2 + length;
        }
    }
    None
}

#[derive(Deserialize)]
struct ImageInfoOptions {
    src: String,
}

fn describe(path: &str, bytes: &[u8]) -> ApiResult {
    let (width, height, kind) = image_size(bytes).ok_or("invalid image: unknown format")?;
    Ok(json!({ "width": width, "height": height, "path": path, "orientation": "up", "type": kind }))
}

fn get_image_info(state: &mut HostState, args: Value) -> ApiResult {
    let ImageInfoOptions { src } = options(args)?;
    let lower = src.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        // As WeChat does: download it (under the downloadFile list), then
        // report the local copy's path.
        return super::network::fetch_file(
            state,
            src.clone(),
            Default::default(),
            super::network::default_timeout(),
            move |state, response| {
                let extension = super::network::extension_of(&src);
                let bytes = response.body;
                let path = state.create_temp_file(bytes.clone(), &extension);
                describe(&path, &bytes)
            },
        );
    }
    if lower.starts_with("wxfile://") {
        let bytes = state.read_file(&src)?;
        return describe(&src, &bytes);
    }
    Err(format!(
        "file not found: {src} (package images are not loaded headless; use a wxfile:// or https:// image)"
    ))
}

pub(super) fn apis() -> Vec<ApiSpec> {
    vec![ApiSpec {
        name: "getImageInfo",
        kind: ApiKind::Async,
        capability: Capability::Media,
        handler: get_image_info,
    }]
}

#[cfg(test)]
mod tests {
    use super::image_size;

    #[test]
    fn sizes_come_from_headers() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((640, 480, "png")));
        assert_eq!(image_size(b"GIF89a\x10\x00\x20\x00"), Some((16, 32, "gif")));
        let jpeg = [
            0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x01,
            0x2c, 0x00, 0xc8,
        ];
        assert_eq!(image_size(&jpeg), Some((200, 300, "jpeg")));
        assert_eq!(image_size(b"not an image"), None);
        assert_eq!(image_size(&[0xff, 0xd8, 0xff]), None);
        assert_eq!(image_size(b"\x89PNG\r\n\x1a\n"), None);
    }
}
