// LangChain JS (@langchain/openai), over chat completions and, with
// useResponsesApi, over the Responses API.
import { ChatOpenAI } from '@langchain/openai';
import { tool } from '@langchain/core/tools';
import { z } from 'zod';
import { apiKey, baseURL, capital, model, plainQuestion, run, weatherQuestion } from './common.mjs';

const chat = (extra = {}) => new ChatOpenAI({ model, apiKey, configuration: { baseURL }, maxRetries: 0, timeout: 15000, ...extra });
const weather = tool(async () => 'unused', {
	name: 'get_weather', description: 'The weather of a city', schema: z.object({ city: z.string() }),
});
const message = (m) => ({
	content: m.content, tool_calls: m.tool_calls?.map((t) => ({ id: t.id, name: t.name, args: t.args })),
	finish_reason: m.response_metadata?.finish_reason, usage: m.usage_metadata,
});

async function streamed(llm, input) {
	let acc;
	for await (const chunk of await llm.stream(input)) acc = acc ? acc.concat(chunk) : chunk;
	return message(acc);
}

const scenarios = {};
for (const [api, extra] of [['chat', {}], ['responses', { useResponsesApi: true }]]) {
	Object.assign(scenarios, {
		[`${api}_text`]: async () => message(await chat(extra).invoke(plainQuestion)),
		[`${api}_stream`]: () => streamed(chat(extra), 'Tell me about Paris.'),
		[`${api}_tools`]: async () => message(await chat(extra).bindTools([weather]).invoke(weatherQuestion)),
		[`${api}_tools_stream`]: () => streamed(chat(extra).bindTools([weather]), weatherQuestion),
		[`${api}_structured_after_plain`]: async () => {
			await chat(extra).invoke(plainQuestion);
			return { parsed: await chat(extra).withStructuredOutput(capital, { name: 'capital' }).invoke(plainQuestion) };
		},
		[`${api}_error_400`]: () => chat(extra).invoke('Please trigger a 400.'),
	});
}
// The fake refuses max_tokens, as OpenAI's reasoning models do; the
// Responses API's limit is max_output_tokens.
scenarios.responses_max_tokens = async () => message(await chat({ useResponsesApi: true, maxTokens: 64 }).invoke(plainQuestion));
scenarios.chat_error_429 = () => chat().invoke('Please trigger a 429.');
await run(scenarios);
