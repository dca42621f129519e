// The official openai SDK: CATO_COMPAT_OPENAI names the installed major
// version (openai6, openai7).
import { apiKey, baseURL, capital, model, plainQuestion, run, weatherQuestion } from './common.mjs';

const pkg = process.env.CATO_COMPAT_OPENAI ?? 'openai7';
const { default: OpenAI } = await import(pkg);
const { zodResponseFormat, zodTextFormat } = await import(`${pkg}/helpers/zod`);

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 15000 });

const weatherTool = {
	type: 'function',
	function: {
		name: 'get_weather', description: 'The weather of a city', strict: true,
		parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
	},
};
const responsesWeatherTool = { type: 'function', ...weatherTool.function };

const choice = (c) => ({
	content: c.message.content, refusal: c.message.refusal, annotations: c.message.annotations, logprobs: c.logprobs,
	finish_reason: c.finish_reason,
	tool_calls: c.message.tool_calls?.map((t) => ({ id: t.id, name: t.function.name, arguments: t.function.arguments })),
});

async function chatStream(params) {
	const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
	const seen = { text: '', firstDelta: null, finish_reason: null, usage: null, tool_calls: {} };
	for await (const chunk of stream) {
		if (chunk.usage) seen.usage = chunk.usage;
		for (const c of chunk.choices) {
			if (seen.firstDelta === null) seen.firstDelta = c.delta;
			if (c.delta.content) seen.text += c.delta.content;
			for (const t of c.delta.tool_calls ?? []) {
				const acc = (seen.tool_calls[t.index] ??= { id: '', name: '', arguments: '' });
				acc.id += t.id ?? ''; acc.name += t.function?.name ?? ''; acc.arguments += t.function?.arguments ?? '';
			}
			if (c.finish_reason) seen.finish_reason = c.finish_reason;
		}
	}
	return seen;
}

await run({
	chat_text: async () => {
		const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: plainQuestion }] });
		return { choices: r.choices.map(choice), usage: r.usage, system_fingerprint: r.system_fingerprint, service_tier: r.service_tier };
	},
	chat_stream: () => chatStream({ model, messages: [{ role: 'user', content: 'Tell me about Paris.' }] }),
	chat_tools: async () => {
		const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: weatherQuestion }], tools: [weatherTool] });
		return { choices: r.choices.map(choice), usage: r.usage };
	},
	chat_tools_stream: () => chatStream({ model, messages: [{ role: 'user', content: weatherQuestion }], tools: [weatherTool] }),
	chat_tool_results: async () => {
		const r = await client.chat.completions.create({
			model, tools: [weatherTool],
			messages: [
				{ role: 'user', content: weatherQuestion },
				{ role: 'assistant', content: null, tool_calls: [
					{ id: 'call_paris', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
					{ id: 'call_tokyo', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
				] },
				{ role: 'tool', tool_call_id: 'call_paris', content: '18C' },
				{ role: 'tool', tool_call_id: 'call_tokyo', content: '24C' },
			],
		});
		return { choices: r.choices.map(choice) };
	},
	// The structured helper after the same question asked as plain text.
	chat_structured_after_plain: async () => {
		await client.chat.completions.create({ model, messages: [{ role: 'user', content: plainQuestion }] });
		const r = await client.chat.completions.parse({
			model, messages: [{ role: 'user', content: plainQuestion }], response_format: zodResponseFormat(capital, 'capital'),
		});
		return { parsed: r.choices[0].message.parsed, finish_reason: r.choices[0].finish_reason };
	},
	// The fake refuses max_tokens, as OpenAI's reasoning models do.
	chat_max_completion_tokens: async () => {
		const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: plainQuestion }], max_completion_tokens: 64 });
		return { choices: r.choices.map(choice) };
	},
	chat_error_400: () => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Please trigger a 400.' }] }),
	responses_create: async () => {
		const r = await client.responses.create({ model, input: plainQuestion, instructions: 'Be brief.' });
		return { output_text: r.output_text, status: r.status, usage: r.usage, object: r.object, output: r.output.map((o) => ({ type: o.type, role: o.role, content: o.content })) };
	},
	responses_max_output_tokens: async () => {
		const r = await client.responses.create({ model, input: plainQuestion, max_output_tokens: 64 });
		return { output_text: r.output_text, status: r.status, max_output_tokens: r.max_output_tokens };
	},
	responses_tools: async () => {
		const r = await client.responses.create({ model, input: weatherQuestion, tools: [responsesWeatherTool] });
		return { status: r.status, output: r.output.map((o) => ({ type: o.type, call_id: o.call_id, name: o.name, arguments: o.arguments, status: o.status })), usage: r.usage };
	},
	responses_stream: async () => {
		const stream = client.responses.stream({ model, input: 'Tell me about Paris.' });
		const types = new Set();
		let text = '';
		stream.on('response.output_text.delta', (e) => { text += e.delta; });
		for await (const ev of stream) types.add(ev.type);
		const final = await stream.finalResponse();
		return { deltas: text, output_text: final.output_text, status: final.status, usage: final.usage, events: [...types].sort() };
	},
	responses_stream_tools: async () => {
		const stream = client.responses.stream({ model, input: weatherQuestion, tools: [responsesWeatherTool] });
		const args = {};
		for await (const ev of stream) {
			if (ev.type === 'response.function_call_arguments.delta') args[ev.output_index] = (args[ev.output_index] ?? '') + ev.delta;
		}
		const final = await stream.finalResponse();
		return { deltas: Object.values(args), output: final.output.map((o) => ({ type: o.type, call_id: o.call_id, name: o.name, arguments: o.arguments })) };
	},
	responses_structured_after_plain: async () => {
		await client.responses.create({ model, input: plainQuestion });
		const r = await client.responses.parse({ model, input: plainQuestion, text: { format: zodTextFormat(capital, 'capital') } });
		return { parsed: r.output_parsed, status: r.status };
	},
	responses_error_400: () => client.responses.create({ model, input: 'Please trigger a 400.' }),
	// Last: the 429s must not disturb the scenarios before.
	chat_error_429: () => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Please trigger a 429.' }] }),
});
