-- cato:requires vector
-- Episode vectors for pgvector. The column has no fixed dimension, since
-- the embedder decides it: the store creates an HNSW index per dimension
-- it meets, on embedding::vector(N) where vector_dims(embedding) = N.
ALTER TABLE cato_memory_episodes ADD COLUMN embedding vector;
