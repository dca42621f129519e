// Package simulator is Cato's simulated model: a deterministic answer
// engine with configurable latency, token pacing and fault injection, and an
// HTTP server speaking the wires Cato's adapters use (OpenAI-compatible here;
// Bedrock and SageMaker in their own files). `cato simulate` serves it, and
// provider/simulated calls the engine in process. Every answer says it is
// simulated. Wire handlers register themselves in Server.routes.
package simulator
