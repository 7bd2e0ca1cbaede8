// Built-in chat formats rendered for a 2-turn conversation, written out by hand
// from each format's published description; user templates; detection.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/model/chat_template.h"
#include "core/model/tokenizer.h"
#include "test_util.h"

using qlab::Message;
using qlab::detect_chat_template;
using qlab::render_chat;

namespace {

const std::vector<Message> kConversation = {
    {"system", "You are terse."}, {"user", "Hi!"}, {"assistant", "Hello."}, {"user", "Bye?"}};

}  // namespace

TEST(ChatTemplate, Llama2FollowsMetasFormat) {
  EXPECT_EQ(render_chat("llama-2", kConversation, true, "<s>", "</s>"),
            "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s>"
            "<s>[INST] Bye? [/INST]");
  // Without a system message, and with the surrounding whitespace Meta strips.
  EXPECT_EQ(render_chat("llama-2", {{"user", " Hi! \n"}}, true, "", ""), "<s>[INST] Hi! [/INST]");
}

TEST(ChatTemplate, Llama3HeadersAndGenerationPrompt) {
  const std::string body =
      "<|begin_of_text|>"
      "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
      "<|start_header_id|>user<|end_header_id|>\n\nBye?<|eot_id|>";
  EXPECT_EQ(render_chat("llama-3", kConversation, false, "<|begin_of_text|>", "<|eot_id|>"), body);
  EXPECT_EQ(render_chat("llama-3", kConversation, true, "", ""),
            body + "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, ChatMl) {
  const std::string body =
      "<|im_start|>system\nYou are terse.<|im_end|>\n"
      "<|im_start|>user\nHi!<|im_end|>\n"
      "<|im_start|>assistant\nHello.<|im_end|>\n"
      "<|im_start|>user\nBye?<|im_end|>\n";
  EXPECT_EQ(render_chat("chatml", kConversation, false, "", "<|im_end|>"), body);
  EXPECT_EQ(render_chat("chatml", kConversation, true, "", "<|im_end|>"), body + "<|im_start|>assistant\n");
}

TEST(ChatTemplate, MistralAndNone) {
  EXPECT_EQ(render_chat("mistral", kConversation, true, "<s>", "</s>"),
            "<s>[INST] You are terse.\n\nHi! [/INST] Hello.</s>[INST] Bye? [/INST]");
  EXPECT_EQ(render_chat("none", kConversation, true, "<s>", "</s>"), "You are terse.Hi!Hello.Bye?");
}

TEST(ChatTemplate, UserTemplateIsSingleTurn) {
  EXPECT_EQ(render_chat("Q: {user}\nA:", {{"user", "2+2?"}}, true, "", ""), "Q: 2+2?\nA:");
  EXPECT_EQ(render_chat("[{system}] {user} / {user}", {{"system", "S"}, {"user", "U"}}, true, "", ""),
            "[S] U / U");
  EXPECT_EQ(render_chat("{system}|{user}", {{"user", "say {system}"}}, true, "", ""), "|say {system}");
  try {
    render_chat("llama2", {{"user", "x"}}, true, "", "");
    FAIL() << "no error for a template without {user}";
  } catch (const qlab::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("template has no {user} placeholder"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render_chat("{user}", kConversation, true, "", ""), qlab::UsageError);
}

TEST(ChatTemplate, AlternationIsChecked) {
  EXPECT_THROW(render_chat("llama-2", {{"assistant", "x"}}, true, "", ""), qlab::UsageError);
  EXPECT_THROW(render_chat("mistral", {{"user", "a"}, {"user", "b"}}, true, "", ""), qlab::UsageError);
  EXPECT_THROW(render_chat("llama-2", {}, true, "", ""), qlab::UsageError);
}

TEST(ChatTemplate, Detection) {
  EXPECT_EQ(detect_chat_template("llama", "{{ '<|im_start|>' + message['role'] }}"), "chatml");
  EXPECT_EQ(detect_chat_template("llama", "{{ '<|start_header_id|>' + role }}"), "llama-3");
  EXPECT_EQ(detect_chat_template("llama", "{{ '[INST] ' }}{{ '<<SYS>>\\n' }}"), "llama-2");
  EXPECT_EQ(detect_chat_template("llama", "{{ bos_token + '[INST] ' + content + ' [/INST]' }}"), "mistral");
  EXPECT_EQ(detect_chat_template("qwen2", ""), "chatml");
  EXPECT_EQ(detect_chat_template("mistral", ""), "mistral");
  EXPECT_EQ(detect_chat_template("llama", ""), "llama-2");
  EXPECT_EQ(detect_chat_template("gpt_neox", "{{ something else }}"), "none");
  // The fixtures' own tokenizer_config.json templates.
  auto byte_level = qlab::Tokenizer::load(qlab::test::fixtures() + "/tokenizers/bytelevel");
  EXPECT_EQ(detect_chat_template("", byte_level->chat_template()), "llama-3");
  auto sp_bpe = qlab::Tokenizer::load(qlab::test::fixtures() + "/tokenizers/spbpe");
  EXPECT_EQ(detect_chat_template("", sp_bpe->chat_template()), "llama-2");
}
