// Chat prompts without a jinja interpreter: a few built-in formats, named, that
// reproduce what the checkpoints' own templates render, plus a user template
// with {system} and {user} placeholders for single-turn prompts. Torch-free.
//
// The rendered text already holds BOS where the format places it: encode it
// with add_special = false (as transformers' apply_chat_template does).
#pragma once
#include <string>
#include <vector>

namespace qlab {

struct Message {
  std::string role;      // "system", "user" or "assistant"
  std::string content;
};

// Built-in names:
//   "llama-2"  Meta's format: <s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {answer} </s><s>[INST] ...
//   "llama-3"  <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>...
//   "chatml"   <|im_start|>{role}\n{content}<|im_end|>\n...
//   "mistral"  <s>[INST] {user} [/INST] {answer}</s>[INST] ... (a system message
//              is put before the first user message, separated by "\n\n")
//   "none"     the contents, concatenated
// add_generation_prompt opens the assistant's turn where the format has one
// (llama-3, chatml). bos / eos: the tokenizer's strings; empty -> the format's
// usual ones. Anything else is a user template: it must contain {user}; the
// conversation must then be one optional system message and one user message.
// Throws UsageError naming the template on misuse.
std::string render_chat(const std::string& template_name_or_text, const std::vector<Message>& messages,
                        bool add_generation_prompt, const std::string& bos, const std::string& eos);

// Which built-in name fits a checkpoint: recognised from the jinja text of its
// tokenizer_config.json ("<|im_start|>" -> chatml, "<|start_header_id|>" ->
// llama-3, "[INST]" with "<<SYS>>" -> llama-2, other "[INST]" -> mistral),
// else from config.json's model_type; "none" (with a warning) when neither tells.
std::string detect_chat_template(const std::string& model_type, const std::string& jinja_template);

}  // namespace qlab
