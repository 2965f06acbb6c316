//! The OpenAPI 3.1 document of the HTTP API, served at `/openapi.json`. Written by hand next to the handlers in
//! `api.rs`; the end-to-end tests check that every operation documented here is served.

use serde_json::{Value, json};

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn errors() -> Value {
    json!({"description": "The request could not be served", "content": {"application/json": {"schema": reference("Error")}}})
}

fn id_param() -> Value {
    json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "format": "uint64"}}])
}

/// The document, as JSON.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "agentworld HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Reset/step access to agentworld's SQL-backed tool-use environments for RL trainers. \
                A tool call the agent got wrong is a 200 with status `tool_error`; HTTP errors are requests the \
                service could not serve, always as {\"error\": {\"code\", \"message\"}}."
        },
        "paths": {
            "/v1/environments": {"get": {
                "summary": "List environments", "operationId": "listEnvironments",
                "responses": {"200": ok("Environments", json!({"type": "object", "properties": {"environments": {"type": "array", "items": reference("EnvSummary")}}}))}
            }},
            "/v1/environments/{env}": {"get": {
                "summary": "One environment's tools (with JSON Schemas) and tasks", "operationId": "getEnvironment",
                "parameters": [{"name": "env", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": ok("The environment", reference("Environment")), "404": errors()}
            }},
            "/v1/episodes": {"post": {
                "summary": "Open (reset) an episode", "operationId": "openEpisode",
                "requestBody": body(json!({"type": "object", "required": ["env"], "properties": {"env": {"type": "string"}, "task": {"type": "string"}}})),
                "responses": {"201": ok("The episode", reference("Episode")), "400": errors(), "404": errors(), "429": errors(), "503": errors()}
            }},
            "/v1/groups": {"post": {
                "summary": "Open a GRPO group: `size` episodes of one task from one snapshot", "operationId": "openGroup",
                "requestBody": body(json!({"type": "object", "required": ["env", "task", "size"], "properties": {"env": {"type": "string"}, "task": {"type": "string"}, "size": {"type": "integer", "minimum": 1, "maximum": 1024}}})),
                "responses": {"201": ok("The group", json!({"type": "object", "properties": {"group": {"type": "integer"}, "episodes": {"type": "array", "items": reference("Episode")}}})), "400": errors(), "404": errors(), "429": errors()}
            }},
            "/v1/calls": {"post": {
                "summary": "Call tools in many episodes; results as they complete (the first `first`, or those done within `timeout_ms`)",
                "operationId": "callBatch",
                "requestBody": body(json!({"type": "object", "required": ["calls"], "properties": {
                    "calls": {"type": "array", "items": {"type": "object", "required": ["episode", "tool"], "properties": {"episode": {"type": "integer"}, "tool": {"type": "string"}, "arguments": {"type": "object"}}}},
                    "first": {"type": "integer"}, "timeout_ms": {"type": "integer"}}})),
                "responses": {"200": ok("Completed calls", json!({"type": "object", "properties": {
                    "results": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "episode": {"type": "integer"}, "reply": reference("CallReply"), "error": reference("ErrorBody")}}},
                    "pending": {"type": "integer"}}})), "400": errors()}
            }},
            "/v1/episodes/{id}": {
                "get": {"summary": "The episode's trajectory", "operationId": "getTrajectory", "parameters": id_param(),
                        "responses": {"200": ok("Trajectory", reference("Trajectory")), "404": errors()}},
                "delete": {"summary": "Close the episode without a verdict", "operationId": "closeEpisode", "parameters": id_param(),
                           "responses": {"200": ok("Trajectory", reference("Trajectory")), "404": errors(), "409": errors()}}
            },
            "/v1/episodes/{id}/calls": {"post": {
                "summary": "Call a tool (one step)", "operationId": "callTool", "parameters": id_param(),
                "requestBody": body(json!({"type": "object", "required": ["tool"], "properties": {"tool": {"type": "string"}, "arguments": {"type": "object"}}})),
                "responses": {"200": ok("The step: status ok, tool_error, timeout or infra_error", reference("CallReply")), "400": errors(), "404": errors(), "409": errors()}
            }},
            "/v1/episodes/{id}/finish": {"post": {
                "summary": "Finish with a final answer; returns the verdict with per-check detail", "operationId": "finishEpisode", "parameters": id_param(),
                "requestBody": body(json!({"type": "object", "required": ["answer"], "properties": {"answer": {"type": "string"}}})),
                "responses": {"200": ok("The verdict", reference("FinishReply")), "404": errors(), "409": errors(), "500": errors()}
            }},
            "/v1/episodes/{id}/branch": {"post": {
                "summary": "Copy the episode's current state into `count` new episodes", "operationId": "branchEpisode", "parameters": id_param(),
                "requestBody": body(json!({"type": "object", "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 1024, "default": 1}}})),
                "responses": {"201": ok("The branches", json!({"type": "object", "properties": {"episodes": {"type": "array", "items": reference("Episode")}}})), "404": errors(), "409": errors()}
            }},
            "/v1/jobs": {
                "get": {"summary": "Managed jobs", "operationId": "listJobs",
                        "responses": {"200": ok("Jobs", json!({"type": "object", "properties": {"jobs": {"type": "array", "items": reference("Job")}}}))}},
                "post": {"summary": "Start a managed `agentworld train` or `agentworld rollout` run (restarted with the service until it ends)", "operationId": "startJob",
                         "requestBody": body(json!({"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["train", "rollout"]}, "args": {"type": "array", "items": {"type": "string"}, "description": "Command-line arguments after `agentworld train|rollout`, without --out/--resume"}}})),
                         "responses": {"201": ok("The job", json!({"type": "object", "properties": {"job": reference("Job")}})), "400": errors()}}
            },
            "/v1/jobs/{id}": {"get": {
                "summary": "A job: its record, the tails of its logs, its report once written", "operationId": "getJob",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": ok("Status", json!({"type": "object", "properties": {"job": reference("Job"), "folder": {"type": "string"}, "stdout_tail": {"type": "array"}, "stderr_tail": {"type": "array"}, "report": {}}})), "404": errors()}
            }},
            "/v1/jobs/{id}/stop": {"post": {
                "summary": "Stop a job (SIGTERM, then SIGKILL); it is not restarted", "operationId": "stopJob",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": ok("The job", json!({"type": "object", "properties": {"job": reference("Job")}})), "404": errors()}
            }},
            "/healthz": {"get": {"summary": "The process answers", "operationId": "health", "responses": {"200": {"description": "alive"}}}},
            "/readyz": {"get": {"summary": "Environments loaded and not draining", "operationId": "ready", "responses": {"200": {"description": "ready"}, "503": {"description": "not ready or draining"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "responses": {"200": {"description": "text exposition format"}}}},
            "/openapi.json": {"get": {"summary": "This document", "operationId": "openapi", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {"schemas": {
            "ErrorBody": {"type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string", "enum": ["malformed_json", "invalid_request", "invalid_arguments", "body_too_large", "unknown_environment", "unknown_task", "unknown_episode", "unknown_job", "job_error", "episode_ended", "too_many_episodes", "unavailable", "infra_error", "shutting_down", "not_found", "method_not_allowed"]},
                "message": {"type": "string"}, "detail": {"type": "object"}}},
            "Error": {"type": "object", "required": ["error"], "properties": {"error": reference("ErrorBody")}},
            "EnvSummary": {"type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "tools": {"type": "integer"}, "tasks": {"type": "array", "items": {"type": "string"}}, "available": {"type": "boolean"}}},
            "Environment": {"type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                "tools": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "input_schema": {"type": "object"}}}},
                "tasks": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "instruction": {"type": "string"}, "kind": {"type": ["string", "null"]}}}}}},
            "Episode": {"type": "object", "properties": {"id": {"type": "integer"}, "env": {"type": "string"}, "task": {"type": ["string", "null"]}, "group": {"type": ["integer", "null"]}, "lineage": {"type": ["object", "null"]}, "instruction": {"type": ["string", "null"]}}},
            "CallReply": {"type": "object", "properties": {"episode": {"type": "integer"}, "step": {"type": "integer"},
                "status": {"type": "string", "enum": ["ok", "tool_error", "timeout", "infra_error"]},
                "result": {}, "error": {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "argument": {"type": ["string", "null"]}}},
                "truncated": {"type": "boolean"}, "duration_us": {"type": "integer"},
                "resample": {"type": ["object", "null"], "description": "Set with infra_error: open a replacement episode of this task in this group"}}},
            "FinishReply": {"type": "object", "properties": {"episode": {"type": "integer"}, "steps": {"type": "integer"},
                "verdict": {"type": "object", "properties": {"outcome": {"type": "string"}, "reward": {"type": "number"}, "checks": {"type": "array", "items": {"type": "object"}}, "collateral": {"type": "array", "items": {"type": "string"}}}}}},
            "Job": {"type": "object", "properties": {"id": {"type": "string"}, "kind": {"type": "string", "enum": ["train", "rollout"]}, "args": {"type": "array", "items": {"type": "string"}},
                "state": {"type": "string", "enum": ["running", "finished", "failed", "stopped"]}, "starts": {"type": "integer"}, "pid": {"type": ["integer", "null"]},
                "exit_code": {"type": ["integer", "null"]}, "created_ms": {"type": "integer"}, "updated_ms": {"type": "integer"}, "message": {"type": ["string", "null"]}}},
            "Trajectory": {"type": "object", "properties": {"info": reference("Episode"), "steps": {"type": "array", "items": {"type": "object"}}, "answer": {"type": ["string", "null"]}, "verdict": {"type": ["object", "null"]}, "ended": {"type": ["string", "null"]}, "cause": {"type": ["string", "null"]}}}
        }}
    })
}
