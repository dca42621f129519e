// The Vercel AI SDK: openai.chat(model) over chat completions, and the
// default openai(model) over the Responses API.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, Output, streamText, tool } from 'ai';
import { z } from 'zod';
import { apiKey, baseURL, capital, model, plainQuestion, run, weatherQuestion } from './common.mjs';

const openai = createOpenAI({ baseURL, apiKey });
const tools = { get_weather: tool({ description: 'The weather of a city', inputSchema: z.object({ city: z.string() }) }) };
const outcome = (r) => ({
	text: r.text, finishReason: r.finishReason, rawFinishReason: r.rawFinishReason, usage: r.usage,
	toolCalls: r.toolCalls?.map((t) => ({ toolCallId: t.toolCallId, toolName: t.toolName, input: t.input })),
	content: r.content?.map((p) => p.type),
});

async function streamed(args) {
	const r = streamText({ ...args, maxRetries: 0, onError: () => {} });
	const parts = [];
	for await (const p of r.fullStream) parts.push(p.type);
	return { ...outcome({ text: await r.text, finishReason: await r.finishReason, rawFinishReason: await r.rawFinishReason, usage: await r.usage, toolCalls: await r.toolCalls, content: await r.content }), parts: [...new Set(parts)] };
}

const scenarios = {};
for (const [api, m] of [['chat', openai.chat(model)], ['responses', openai(model)]]) {
	Object.assign(scenarios, {
		[`${api}_text`]: async () => outcome(await generateText({ model: m, prompt: plainQuestion, maxRetries: 0 })),
		[`${api}_stream`]: () => streamed({ model: m, prompt: 'Tell me about Paris.' }),
		[`${api}_tools`]: async () => outcome(await generateText({ model: m, prompt: weatherQuestion, tools, maxRetries: 0 })),
		[`${api}_tools_stream`]: () => streamed({ model: m, prompt: weatherQuestion, tools }),
		[`${api}_structured_after_plain`]: async () => {
			await generateText({ model: m, prompt: plainQuestion, maxRetries: 0 });
			const r = await generateText({ model: m, prompt: plainQuestion, output: Output.object({ schema: capital }), maxRetries: 0 });
			return { output: r.output, finishReason: r.finishReason };
		},
		[`${api}_error_400`]: () => generateText({ model: m, prompt: 'Please trigger a 400.', maxRetries: 0 }),
	});
}
// The fake refuses max_tokens, as OpenAI's reasoning models do; the
// Responses API's limit is max_output_tokens.
scenarios.responses_max_tokens = async () => outcome(await generateText({ model: openai(model), prompt: plainQuestion, maxOutputTokens: 64, maxRetries: 0 }));
scenarios.chat_error_429 = () => generateText({ model: openai.chat(model), prompt: 'Please trigger a 429.', maxRetries: 0 });
await run(scenarios);
