// Package keys holds Cato's client keys and what each may spend: the
// tenant a key belongs to, the models it may call, its requests and tokens
// per minute and its budget per period. The API's client guard asks a
// Gate who a bearer key is (Authenticate) and whether it may call a model
// now (Admit), and settles the answer's tokens and cost after it
// (Ticket.Settle). Keys, counters and revocations live in a Store shared
// by replicas (store/embedded, store/redisstore, store/pgstore).
package keys
