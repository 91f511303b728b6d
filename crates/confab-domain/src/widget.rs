//! How a chat inbox's widget looks and greets visitors: the settings an
//! admin sets on the inbox and the widget reads through the public API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::validate::InvalidField;

/// Whether the widget asks for a name and e-mail before the first message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreChat {
    /// Visitors write straight away.
    #[default]
    Off,
    /// The widget offers the form; visitors may skip it.
    Optional,
    /// Visitors give a name and e-mail before they write.
    Required,
}

/// Which bottom corner the launcher sits in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WidgetPosition {
    #[default]
    Right,
    Left,
}

/// The texts an inbox may override, per language.
pub const WIDGET_TEXT_KEYS: [&str; 5] = ["title", "subtitle", "greeting", "placeholder", "offline"];
/// Longest overridden text, in characters.
pub const MAX_WIDGET_TEXT_CHARS: usize = 500;
/// Most languages with overridden texts.
pub const MAX_WIDGET_LANGUAGES: usize = 20;

/// A chat inbox's widget settings. Every field has a default, so `{}` is valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WidgetSettings {
    /// The accent colour, `#rrggbb`; the widget's own blue when absent.
    pub color: Option<String>,
    pub position: WidgetPosition,
    pub pre_chat: PreChat,
    /// Replaces the widget's built-in texts, by language tag and text key
    /// (`title`, `subtitle`, `greeting`, `placeholder`, `offline`):
    /// `{"pt-BR": {"greeting": "Olá! Como podemos ajudar?"}}`.
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
}

impl WidgetSettings {
    /// Checks the settings an admin sent; the error names the bad part.
    pub fn validated(self) -> Result<WidgetSettings, InvalidField> {
        if let Some(color) = &self.color {
            let hex = color.strip_prefix('#').unwrap_or("");
            if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(InvalidField::new(
                    "widget.color",
                    "must be a colour like #1f6feb",
                ));
            }
        }
        if self.texts.len() > MAX_WIDGET_LANGUAGES {
            return Err(InvalidField::new(
                "widget.texts",
                format!("at most {MAX_WIDGET_LANGUAGES} languages"),
            ));
        }
        for (language, texts) in &self.texts {
            let tag_ok = !language.is_empty()
                && language.len() <= 16
                && language.split('-').all(|part| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if !tag_ok {
                return Err(InvalidField::new(
                    "widget.texts",
                    format!("{language:?} is not a language tag like en or pt-BR"),
                ));
            }
            for (key, text) in texts {
                if !WIDGET_TEXT_KEYS.contains(&key.as_str()) {
                    return Err(InvalidField::new(
                        "widget.texts",
                        format!(
                            "unknown text {key:?}; the texts are {}",
                            WIDGET_TEXT_KEYS.join(", ")
                        ),
                    ));
                }
                if text.chars().count() > MAX_WIDGET_TEXT_CHARS {
                    return Err(InvalidField::new(
                        "widget.texts",
                        format!(
                            "{language}.{key} must be at most {MAX_WIDGET_TEXT_CHARS} characters"
                        ),
                    ));
                }
                if text.chars().any(|c| c.is_control() && c != '\n') {
                    return Err(InvalidField::new(
                        "widget.texts",
                        format!("{language}.{key} must not contain control characters"),
                    ));
                }
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<WidgetSettings, String> {
        serde_json::from_str::<WidgetSettings>(json)
            .map_err(|e| e.to_string())
            .and_then(|s| s.validated().map_err(|e| e.to_string()))
    }

    #[test]
    fn empty_settings_are_the_defaults() {
        assert_eq!(parse("{}").unwrap(), WidgetSettings::default());
    }

    #[test]
    fn a_full_setting_round_trips() {
        let settings = parse(
            r##"{"color":"#0A7F5a","position":"left","pre_chat":"required",
                "texts":{"pt-BR":{"greeting":"Olá!","title":"Fale conosco"}}}"##,
        )
        .unwrap();
        assert_eq!(settings.position, WidgetPosition::Left);
        assert_eq!(settings.pre_chat, PreChat::Required);
        assert_eq!(settings.texts["pt-BR"]["greeting"], "Olá!");
        let again: WidgetSettings =
            serde_json::from_str(&serde_json::to_string(&settings).unwrap()).unwrap();
        assert_eq!(again, settings);
    }

    #[test]
    fn bad_parts_are_named() {
        assert!(
            parse(r#"{"color":"red"}"#)
                .unwrap_err()
                .contains("widget.color")
        );
        assert!(parse(r##"{"color":"#12345g"}"##).is_err());
        assert!(
            parse(r#"{"texts":{"en":{"footer":"x"}}}"#)
                .unwrap_err()
                .contains("footer")
        );
        assert!(parse(r#"{"texts":{"e n":{"title":"x"}}}"#).is_err());
        let long = "x".repeat(MAX_WIDGET_TEXT_CHARS + 1);
        assert!(parse(&format!(r#"{{"texts":{{"en":{{"title":"{long}"}}}}}}"#)).is_err());
        assert!(parse(r#"{"pre_chat":"sometimes"}"#).is_err());
        assert!(
            parse(r##"{"colour":"#000000"}"##).is_err(),
            "unknown fields are refused"
        );
    }
}
