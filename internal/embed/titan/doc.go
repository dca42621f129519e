// Package titan is the embedder adapter for Amazon Bedrock's Titan Text
// Embeddings v2: an embed.Embedder over InvokeModel, with the AWS SDK kept
// out of package embed and of the cache and router that use it.
package titan
