//! Consumes the body of a `scalar.binary` literal (`{"value": BASE64, "tag": "msgpack"}`, the form
//! flytekit ≥ 1.14 writes a dataclass in) and produces the plain JSON it encodes, for the struct
//! reader. Decoding is the `base64` and `rmpv` crates'.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rmpv::Value as Msgpack;
use serde_json::{json, Map, Value as Json};

use super::json::float_json;

/// Padding optional, as protobuf JSON reads `bytes`.
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// The JSON of a `scalar.binary` literal `{"value": BASE64, "tag": "msgpack"}`; `value` may be
/// standard or URL-safe base64.
pub(super) fn msgpack_binary(binary: &Json) -> Result<Json, String> {
    let tag = binary.get("tag").and_then(Json::as_str).unwrap_or("");
    if tag != "msgpack" {
        return Err(format!(
            "unsupported binary tag `{tag}` (expected `msgpack`)"
        ));
    }
    let b64 = binary.get("value").and_then(Json::as_str).unwrap_or("");
    let bytes = STANDARD
        .decode(b64)
        .or_else(|_| URL_SAFE.decode(b64))
        .map_err(|_| "the value is not base64")?;
    let mut rest = &bytes[..];
    let value = rmpv::decode::read_value(&mut rest).map_err(|e| format!("bad msgpack: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the msgpack value".to_string());
    }
    to_json(value)
}

/// A msgpack value as JSON: floats as protobuf JSON writes doubles, map keys that are numbers as
/// their text. Binary and extension values have no JSON form.
fn to_json(value: Msgpack) -> Result<Json, String> {
    Ok(match value {
        Msgpack::Nil => Json::Null,
        Msgpack::Boolean(b) => Json::Bool(b),
        Msgpack::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => json!(n),
            (None, Some(n)) => json!(n),
            (None, None) => return Err(format!("unsupported msgpack integer {i}")),
        },
        Msgpack::F32(f) => float_json(f64::from(f)),
        Msgpack::F64(f) => float_json(f),
        Msgpack::String(s) => {
            Json::String(s.into_str().ok_or("invalid UTF-8 in a msgpack string")?)
        }
        Msgpack::Array(items) => {
            Json::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Msgpack::Map(entries) => {
            let mut obj = Map::new();
            for (k, v) in entries {
                let key = match to_json(k)? {
                    Json::String(s) => s,
                    Json::Number(n) => n.to_string(),
                    other => return Err(format!("unsupported msgpack map key {other}")),
                };
                obj.insert(key, to_json(v)?);
            }
            Json::Object(obj)
        }
        Msgpack::Binary(_) => return Err("unsupported msgpack binary value".to_string()),
        Msgpack::Ext(tag, _) => return Err(format!("unsupported msgpack extension type {tag}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(b64: &str) -> Json {
        json!({ "value": b64, "tag": "msgpack" })
    }

    #[test]
    fn decodes_flytekit_structs() {
        // msgpack of {"a": 1, "b": "hi"}, padded and not.
        let ab = json!({"a": 1, "b": "hi"});
        assert_eq!(msgpack_binary(&binary("gqFhAaFiomhp")), Ok(ab.clone()));
        // {"x": [-1, 1.5, NaN (f32), null, true], 7: 255}: URL-safe base64 without padding.
        let bytes = [
            0x82, 0xa1, b'x', 0x95, 0xff, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, 0xca, 0x7f, 0xc0, 0,
            0, 0xc0, 0xc3, 0x07, 0xcc, 0xff,
        ];
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        assert_eq!(
            msgpack_binary(&binary(&b64)),
            Ok(json!({"x": [-1, 1.5, "NaN", null, true], "7": 255}))
        );
    }

    #[test]
    fn refuses_what_is_not_a_msgpack_struct() {
        let err = |j: Json| msgpack_binary(&j).unwrap_err();
        assert!(err(json!({"value": "gqFhAaFiomhp", "tag": "json"})).contains("tag `json`"));
        assert!(err(binary("not base64!")).contains("base64"));
        // Truncated: a map of two entries holding one.
        assert!(err(binary("gqFhAQ")).contains("msgpack"));
        // Two values.
        assert!(err(binary("AQE")).contains("trailing"));
        // Binary data (0xc4).
        assert!(err(binary("xAEA")).contains("binary"));
    }
}
