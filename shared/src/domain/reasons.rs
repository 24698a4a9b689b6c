//! The consultation reasons: a bilingual catalogue of common
//! pharmacy consultations (`shared/data/reasons.json`), each with its
//! questionnaire, and the validation of a patient's answers against it.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::types::Locale;
use crate::error::{Error, Result};

/// One answer to one question of a questionnaire (its value is checked
/// against the question by [`Reason::validate_answers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    pub question_id: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub en: String,
    pub fr: String,
}

impl Text {
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.en,
            Locale::Fr => &self.fr,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuestionKind {
    /// One of `options`.
    Single,
    /// Any of `options` (at least one when required).
    Multi,
    /// `true` or `false`.
    Yesno,
    /// A number between `min` and `max`.
    Number,
    /// An integer between `min` and `max`.
    Scale,
    /// Free text of at most `max` characters.
    Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: String,
    pub kind: QuestionKind,
    pub label: Text,
    pub required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: String,
    pub category: String,
    pub title: Text,
    pub description: Text,
    pub questions: Vec<Question>,
}

#[derive(Deserialize)]
struct Catalogue {
    reasons: Vec<Reason>,
}

/// Every reason, in catalogue order.
pub fn catalogue() -> &'static [Reason] {
    static CATALOGUE: OnceLock<Vec<Reason>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        // Embedded at build time; its shape is checked by a unit test.
        serde_json::from_str::<Catalogue>(include_str!("../../data/reasons.json"))
            .map(|c| c.reasons)
            .unwrap_or_default()
    })
}

pub fn reason(code: &str) -> Option<&'static Reason> {
    catalogue().iter().find(|r| r.code == code)
}

string_value!(
    /// The code of a consultation reason. Built from a request only when the
    /// catalogue knows it ([`ReasonCode::known`]); a stored one reads back
    /// whatever it is, so removing a reason from the catalogue never makes
    /// old consultations unreadable (they show "no reason" instead).
    ReasonCode,
    "reason code"
);

impl ReasonCode {
    /// A code as stored: 1 to 64 printable characters.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=64).contains(&s.chars().count()) && !s.chars().any(char::is_control);
        ok.then(|| Self(s.to_owned()))
    }

    /// A code of the catalogue.
    pub fn known(code: &str) -> Option<Self> {
        reason(code).map(|r| Self(r.code.clone()))
    }

    /// A code of the catalogue, or a 400 naming the field.
    pub fn known_or_invalid(code: &str, field: &str) -> Result<Self> {
        Self::known(code)
            .ok_or_else(|| Error::invalid(format!("{field} is not a known consultation reason")))
    }

    /// Its reason in the catalogue, if it is still there.
    pub fn reason(&self) -> Option<&'static Reason> {
        reason(&self.0)
    }
}

impl Reason {
    /// Checks a patient's answers: each for a question of this reason, of the
    /// question's kind and range, every required question answered, none
    /// twice. Returns them in questionnaire order.
    pub fn validate_answers(&self, answers: &[Answer]) -> Result<Vec<Answer>> {
        for (i, a) in answers.iter().enumerate() {
            if answers[..i].iter().any(|b| b.question_id == a.question_id) {
                return Err(Error::invalid(format!(
                    "question {} is answered twice",
                    a.question_id
                )));
            }
            if !self.questions.iter().any(|q| q.id == a.question_id) {
                return Err(Error::invalid(format!(
                    "{} is not a question of this consultation",
                    a.question_id
                )));
            }
        }
        let mut out = Vec::new();
        for q in &self.questions {
            let answer = answers
                .iter()
                .find(|a| a.question_id == q.id)
                .filter(|a| !is_blank(&a.value));
            match answer {
                None if q.required => {
                    return Err(Error::invalid(format!("question {} needs an answer", q.id)));
                }
                None => {}
                Some(a) => out.push(Answer {
                    question_id: a.question_id.clone(),
                    value: q.check(&a.value)?,
                }),
            }
        }
        Ok(out)
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

impl Question {
    /// The answer `v` as it is kept: checked against the question, and a
    /// multiple choice without repeats (at most as many choices as the
    /// question offers, so no answer can grow the item without bound).
    fn check(&self, v: &Value) -> Result<Value> {
        let bad = |what: &str| Error::invalid(format!("answer to {} must be {what}", self.id));
        let in_range = |n: f64| self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m);
        let is_option = |s: &str| self.options.iter().any(|o| o.value == s);
        let ok = match self.kind {
            QuestionKind::Single => v.as_str().is_some_and(is_option),
            QuestionKind::Multi => {
                let Some(items) = v.as_array() else {
                    return Err(bad("a list of its options"));
                };
                if items.len() > self.options.len() {
                    return Err(bad(&format!(
                        "a list of at most {} of its options",
                        self.options.len()
                    )));
                }
                let mut chosen: Vec<&str> = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some(s) if is_option(s) => {
                            if !chosen.contains(&s) {
                                chosen.push(s);
                            }
                        }
                        _ => return Err(bad("a list of its options")),
                    }
                }
                return Ok(Value::from(chosen));
            }
            QuestionKind::Yesno => v.is_boolean(),
            QuestionKind::Number => v.as_f64().is_some_and(in_range),
            QuestionKind::Scale => v.as_i64().is_some_and(|n| in_range(n as f64)),
            QuestionKind::Text => v
                .as_str()
                .is_some_and(|s| s.chars().count() as f64 <= self.max.unwrap_or(1000.0)),
        };
        if ok {
            return Ok(v.clone());
        }
        Err(bad(match self.kind {
            QuestionKind::Single => "one of its options",
            QuestionKind::Multi => "a list of its options",
            QuestionKind::Yesno => "true or false",
            QuestionKind::Number => "a number in its range",
            QuestionKind::Scale => "a whole number in its range",
            QuestionKind::Text => "text of a bounded length",
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_catalogue_is_complete_and_bilingual() {
        let c = catalogue();
        assert!(c.len() >= 5);
        for r in c {
            assert!(
                !r.title.en.is_empty() && !r.title.fr.is_empty(),
                "{}",
                r.code
            );
            assert!(!r.questions.is_empty());
            for q in &r.questions {
                assert!(
                    !q.label.en.is_empty() && !q.label.fr.is_empty(),
                    "{}/{}",
                    r.code,
                    q.id
                );
                let needs_options = matches!(q.kind, QuestionKind::Single | QuestionKind::Multi);
                assert_eq!(needs_options, !q.options.is_empty(), "{}/{}", r.code, q.id);
            }
        }
        assert!(reason("uti").is_some());
        assert_eq!(ReasonCode::known("uti").unwrap(), "uti");
        assert!(ReasonCode::known("nope").is_none());
        assert!(ReasonCode::parse("nope").unwrap().reason().is_none());
    }

    fn a(id: &str, v: Value) -> Answer {
        Answer {
            question_id: id.into(),
            value: v,
        }
    }

    #[test]
    fn answers_are_checked_against_the_questionnaire() {
        let r = reason("uti").unwrap();
        let good = vec![
            a("symptoms", json!(["burning"])),
            a("onset_days", json!(2)),
            a("fever", json!(false)),
            a("back_pain", json!(false)),
            a("pregnant", json!(false)),
            a("recent_uti", json!(true)),
        ];
        assert_eq!(r.validate_answers(&good).unwrap().len(), 6);
        let mut missing = good.clone();
        missing.pop();
        assert!(
            r.validate_answers(&missing)
                .unwrap_err()
                .to_string()
                .contains("recent_uti")
        );
        let mut wrong = good.clone();
        wrong[0] = a("symptoms", json!(["sneezing"]));
        assert!(r.validate_answers(&wrong).is_err());
        let mut out_of_range = good.clone();
        out_of_range[1] = a("onset_days", json!(99));
        assert!(r.validate_answers(&out_of_range).is_err());
        let mut extra = good.clone();
        extra.push(a("nope", json!(1)));
        assert!(r.validate_answers(&extra).is_err());
    }

    #[test]
    fn a_multiple_choice_is_capped_at_its_options_and_kept_without_repeats() {
        let r = reason("uti").unwrap();
        let q = r.questions.iter().find(|q| q.id == "symptoms").unwrap();
        let n = q.options.len();
        let answers = |symptoms: Value| {
            vec![
                a("symptoms", symptoms),
                a("onset_days", json!(2)),
                a("fever", json!(false)),
                a("back_pain", json!(false)),
                a("pregnant", json!(false)),
                a("recent_uti", json!(true)),
            ]
        };
        let kept = r
            .validate_answers(&answers(json!(["burning", "urgency", "burning"])))
            .unwrap();
        assert_eq!(kept[0].value, json!(["burning", "urgency"]));
        let huge = vec![json!("burning"); 100_000];
        let err = r.validate_answers(&answers(Value::from(huge))).unwrap_err();
        assert!(err.to_string().contains(&format!("at most {n}")), "{err}");
        let all: Vec<Value> = q.options.iter().map(|o| json!(o.value)).collect();
        assert!(r.validate_answers(&answers(Value::from(all))).is_ok());
    }
}
