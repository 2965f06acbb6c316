//! `LlmJudge`: AWM's LLM judge for imported environments. A sql-mode AWM verifier returns evidence (what changed
//! in the database); the judge asks an OpenAI-compatible model, through the same client as the LLM policy,
//! whether the evidence shows the task done. Used by `agentworld serve --awm-judge-url`.

use agentworld_awm::Judge;
use serde_json::{Value, json};

use crate::llm::{LlmConfig, LlmPolicy};

/// Our own prompt (versioned here): the model must answer with one JSON object.
const SYSTEM: &str = "You judge whether an AI agent completed a task in a simulated application. You get the task, \
the agent's final answer, and evidence extracted from the application's database before and after the episode. \
Judge only from the evidence. Reply with one JSON object and nothing else: \
{\"result\": \"complete\" or \"others\", \"reason\": \"one sentence\"}. Use \"complete\" only when the evidence \
shows every part of the task done.";

/// Judges evidence with an OpenAI-compatible chat model (temperature 0).
#[derive(Debug, Clone)]
pub struct LlmJudge {
    config: LlmConfig,
}

impl LlmJudge {
    pub fn new(mut config: LlmConfig) -> LlmJudge {
        config.temperature = 0.0;
        LlmJudge { config }
    }
}

/// The verdict in a judge's reply text: a JSON object with `result`, or failing that the words themselves.
fn parse_verdict(text: &str) -> Result<bool, String> {
    let start = text.find('{');
    let end = text.rfind('}');
    if let (Some(s), Some(e)) = (start, end)
        && let Ok(v) = serde_json::from_str::<Value>(&text[s..=e])
        && let Some(r) = v.get("result").and_then(Value::as_str)
    {
        return match r.trim().to_ascii_lowercase().as_str() {
            "complete" | "completed" => Ok(true),
            "others" | "other" | "incomplete" | "partial" | "partially completed" => Ok(false),
            other => Err(format!("the judge answered result '{other}', not complete/others")),
        };
    }
    Err(format!("the judge's reply has no {{\"result\": ...}} object: {}", text.chars().take(200).collect::<String>()))
}

impl Judge for LlmJudge {
    fn judge(&self, instruction: &str, evidence: &Value, answer: &str) -> Result<bool, String> {
        let user = format!(
            "Task:\n{instruction}\n\nAgent's final answer:\n{answer}\n\nEvidence (JSON):\n{}",
            serde_json::to_string_pretty(evidence).unwrap_or_default()
        );
        let body = json!({
            "model": self.config.model,
            "temperature": self.config.temperature,
            "max_tokens": 256,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
        });
        let (reply, _) = LlmPolicy::complete(&self.config, &body);
        let reply = reply.map_err(|e| format!("the judge endpoint failed: {e}"))?;
        let text = reply["choices"][0]["message"]["content"]
            .as_str()
            .ok_or_else(|| "the judge's response has no choices[0].message.content".to_string())?;
        parse_verdict(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};

    #[test]
    fn verdicts_are_read_from_the_reply_text() {
        assert_eq!(parse_verdict(r#"{"result": "complete", "reason": "x"}"#), Ok(true));
        assert_eq!(parse_verdict("Sure. {\"result\": \"others\"} done"), Ok(false));
        assert!(parse_verdict("I think it is complete").is_err());
        assert!(parse_verdict(r#"{"result": "maybe"}"#).unwrap_err().contains("maybe"));
    }

    /// A real HTTP server on loopback that answers chat completions with a fixed verdict and keeps the request.
    fn scripted_server(reply: &'static str) -> (String, std::thread::JoinHandle<Value>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let out = json!({"choices": [{"message": {"role": "assistant", "content": reply}}],
                             "usage": {"prompt_tokens": 10, "completion_tokens": 5}})
            .to_string();
            let mut s = stream;
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{out}",
                out.len()
            )
            .unwrap();
            serde_json::from_slice(&body).unwrap()
        });
        (url, handle)
    }

    #[test]
    fn the_judge_sends_task_answer_and_evidence_and_reads_the_verdict() {
        let (url, server) = scripted_server(r#"{"result": "complete", "reason": "the playlist exists"}"#);
        let judge = LlmJudge::new(LlmConfig::new(&url, "judge-model", crate::llm::Mode::Text));
        let evidence = json!({"playlist_created": true, "name": "Road trip"});
        assert_eq!(judge.judge("Create a playlist 'Road trip'.", &evidence, "Done."), Ok(true));
        let request = server.join().unwrap();
        assert_eq!(request["model"], "judge-model");
        assert_eq!(request["temperature"], 0.0);
        let user = request["messages"][1]["content"].as_str().unwrap();
        assert!(
            user.contains("Create a playlist 'Road trip'.") && user.contains("\"playlist_created\": true"),
            "{user}"
        );
        // An endpoint that is down is an error, not a verdict.
        let mut down = LlmConfig::new("http://127.0.0.1:9/v1", "m", crate::llm::Mode::Text);
        down.retries = 0;
        assert!(LlmJudge::new(down).judge("t", &evidence, "").unwrap_err().contains("judge endpoint failed"));
    }
}
