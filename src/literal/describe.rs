//! Consumes values and JSON and produces the phrases error messages name them by (the int `5`,
//! the object `{"a":1}`), long text cut to 80 characters.

use serde_json::Value as Json;

use crate::value::Value;

use super::time::format_timestamp;

/// `value` as a message names it: its kind and, for scalars, the value.
pub(super) fn describe_value(value: &Value) -> String {
    match value {
        Value::None => "`none`".to_string(),
        Value::Bool(b) => format!("the bool `{b}`"),
        Value::Int(i) => format!("the int `{i}`"),
        Value::Float(f) => format!("the float `{f}`"),
        Value::Str(s) => format!("the string {}", truncate(&format!("{s:?}"))),
        Value::Datetime(us) => format!("the datetime `{}`", format_timestamp(*us)),
        Value::Duration(_) => "a duration".to_string(),
        Value::List(_) => "a list".to_string(),
        Value::Dict(_) => "a dict".to_string(),
        Value::Tuple(_) => "a tuple".to_string(),
        Value::Record(r) => format!("a `{}` value", r.type_name),
        Value::Enum(e, v) => format!("`{e}.{v}`"),
        Value::Path(p) => format!("the path {}", truncate(&format!("{p:?}"))),
        Value::Opaque(_) => "an opaque extern value".to_string(),
    }
}

/// `json` as a message names it: its kind and its text.
pub(super) fn show_json(json: &Json) -> String {
    let kind = match json {
        Json::Null => return "`null`".to_string(),
        Json::Bool(b) => return format!("`{b}`"),
        Json::Number(n) => return format!("the number `{n}`"),
        Json::String(_) => "the string",
        Json::Array(_) => "the array",
        Json::Object(_) => "the object",
    };
    format!("{kind} `{}`", truncate(&json.to_string()))
}

/// `s` cut to 80 characters, with `…` where it was cut.
fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX - 1).collect();
        format!("{cut}…")
    }
}
