// Package nli asks a natural-language-inference model (DeBERTa-MNLI behind
// a SageMaker endpoint, Hugging Face text-classification payload) whether a
// premise entails, contradicts or is neutral to a hypothesis. Long-term
// memory uses it during consolidation to find facts that contradict newer
// ones; it is not on the request path of a chat call.
package nli
