#include "core/model/chat_template.h"

#include <spdlog/spdlog.h>

#include "core/error.h"

namespace qlab {

namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\n\r\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// LLaMA-2 and Mistral prompts pair turns: an optional system message, then
// user, assistant, user, ... ending with either.
struct Turns {
  std::string system;
  bool has_system = false;
  std::vector<const Message*> rest;
};
Turns alternating(const std::string& name, const std::vector<Message>& messages) {
  Turns t;
  size_t i = 0;
  if (!messages.empty() && messages[0].role == "system") {
    t.system = messages[0].content;
    t.has_system = true;
    i = 1;
  }
  for (size_t k = 0; i < messages.size(); ++i, ++k) {
    const char* expected = k % 2 == 0 ? "user" : "assistant";
    if (messages[i].role != expected)
      throw UsageError("chat template " + name + ": message " + std::to_string(i + 1) + " has role \"" +
                       messages[i].role + "\", expected \"" + expected +
                       "\" (user and assistant alternate after an optional system message)");
    t.rest.push_back(&messages[i]);
  }
  if (t.rest.empty()) throw UsageError("chat template " + name + ": the conversation has no user message");
  return t;
}

std::string llama2(const std::vector<Message>& messages, const std::string& bos, const std::string& eos) {
  Turns t = alternating("llama-2", messages);
  std::string out;
  for (size_t k = 0; k < t.rest.size(); ++k) {
    std::string content = t.rest[k]->content;
    if (k == 0 && t.has_system) content = "<<SYS>>\n" + t.system + "\n<</SYS>>\n\n" + content;
    if (k % 2 == 0)
      out += bos + "[INST] " + trim(content) + " [/INST]";
    else
      out += " " + trim(content) + " " + eos;
  }
  return out;
}

std::string mistral(const std::vector<Message>& messages, const std::string& bos, const std::string& eos) {
  Turns t = alternating("mistral", messages);
  std::string out = bos;
  for (size_t k = 0; k < t.rest.size(); ++k) {
    std::string content = t.rest[k]->content;
    if (k == 0 && t.has_system) content = t.system + "\n\n" + content;
    if (k % 2 == 0)
      out += "[INST] " + content + " [/INST]";
    else
      out += " " + content + eos;
  }
  return out;
}

std::string llama3(const std::vector<Message>& messages, bool add_generation_prompt, const std::string& bos) {
  auto header = [](const std::string& role) { return "<|start_header_id|>" + role + "<|end_header_id|>\n\n"; };
  std::string out = bos;
  for (const Message& m : messages) out += header(m.role) + trim(m.content) + "<|eot_id|>";
  if (add_generation_prompt) out += header("assistant");
  return out;
}

std::string chatml(const std::vector<Message>& messages, bool add_generation_prompt) {
  std::string out;
  for (const Message& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

// A user's template: {system} and {user} filled from a single-turn conversation.
std::string user_template(const std::string& text, const std::vector<Message>& messages) {
  if (text.find("{user}") == std::string::npos)
    throw UsageError("chat template \"" + text +
                     "\": template has no {user} placeholder (built-in names: llama-2, llama-3, chatml, mistral, none)");
  std::string system, user;
  size_t users = 0;
  for (const Message& m : messages) {
    if (m.role == "system") {
      system = m.content;
    } else if (m.role == "user") {
      user = m.content;
      ++users;
    } else {
      users = 2;   // an assistant turn: not single-turn
    }
  }
  if (users != 1)
    throw UsageError("chat template \"" + text + "\": a {user} template takes one user message (and an optional system message)");
  // One pass per placeholder, {user} last, so that a system text holding
  // "{user}" is not expanded again.
  std::string out = text;
  replace_all(out, "{system}", system);
  size_t at = out.find("{user}");
  while (at != std::string::npos) {
    out.replace(at, 6, user);
    at = out.find("{user}", at + user.size());
  }
  return out;
}

}  // namespace

std::string render_chat(const std::string& name, const std::vector<Message>& messages, bool add_generation_prompt,
                        const std::string& bos, const std::string& eos) {
  auto or_default = [](const std::string& s, const char* fallback) { return s.empty() ? std::string(fallback) : s; };
  if (name == "llama-2") return llama2(messages, or_default(bos, "<s>"), or_default(eos, "</s>"));
  if (name == "llama-3") return llama3(messages, add_generation_prompt, or_default(bos, "<|begin_of_text|>"));
  if (name == "chatml") return chatml(messages, add_generation_prompt);
  if (name == "mistral") return mistral(messages, or_default(bos, "<s>"), or_default(eos, "</s>"));
  if (name == "none") {
    std::string out;
    for (const Message& m : messages) out += m.content;
    return out;
  }
  return user_template(name, messages);
}

std::string detect_chat_template(const std::string& model_type, const std::string& jinja) {
  auto has = [&](const char* marker) { return jinja.find(marker) != std::string::npos; };
  if (has("<|im_start|>")) return "chatml";
  if (has("<|start_header_id|>")) return "llama-3";
  if (has("[INST]")) return has("<<SYS>>") ? "llama-2" : "mistral";
  if (model_type == "qwen2" || model_type == "qwen2_moe" || model_type == "qwen3") return "chatml";
  if (model_type == "mistral") return "mistral";
  if (model_type == "llama") return "llama-2";   // LLaMA-3 checkpoints always ship their template
  spdlog::warn("no chat template recognised (model_type \"{}\"); using \"none\": plain concatenation", model_type);
  return "none";
}

}  // namespace qlab
