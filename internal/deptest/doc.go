// Package deptest holds the test that keeps Cato's import graph in shape.
// Every package of the module has a class (leaf, domain, adapter, store,
// http, config, wiring, test support, tool): leaves import nothing of Cato
// but llm and window (the sliding window they share); config imports
// nothing of Cato; domain packages import only leaves and each other, never
// config, an adapter, a store or a driver; database drivers live only in
// their store/* package and the AWS SDK only in the adapters that call AWS
// and in store/dynamostore;
// only cli imports app; production code never imports testing. It has no
// code of its own.
package deptest
