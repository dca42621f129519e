// Package session is Cato's working memory: the ordered turns and running
// summary of one conversation, loaded before routing and recorded after the
// answer. Memory builds the context added to a prompt within a token budget
// and folds old turns into the summary in the background; Store is the
// backend-neutral persistence it needs, implemented under internal/store.
package session
