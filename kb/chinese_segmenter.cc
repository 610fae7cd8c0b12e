#include "kb/chinese_segmenter.h"

// friso's headers declare C functions without extern "C".
extern "C" {
#include <friso/friso.h>
#include <friso/friso_API.h>
}

#include <cstring>
#include <fstream>
#include <memory>

#include "base/utf8.h"

namespace kefu {

struct ChineseSegmenter::Friso {
  friso_t friso = nullptr;
  friso_config_t config = nullptr;
};

namespace {

// Words longer than this many characters are not looked up (friso's default).
constexpr int kMaxWordChars = 5;

struct TaskDeleter {
  void operator()(friso_task_entry* task) const { friso_free_task(task); }
};

}  // namespace

const ChineseSegmenter* ChineseSegmenter::Shared() {
  static const ChineseSegmenter* const shared = Load(kDefaultLexiconDir);
  return shared;
}

ChineseSegmenter* ChineseSegmenter::Load(const std::string& dir) {
  // friso prints and carries on when its files are missing; check first.
  if (!std::ifstream(dir + "friso.lex.ini").good()) return nullptr;
  std::unique_ptr<ChineseSegmenter> s(new ChineseSegmenter());
  s->friso_ = new Friso();
  s->friso_->friso = friso_new();
  s->friso_->friso->charset = FRISO_UTF8;
  friso_config_t config = friso_new_config();
  friso_init_config(config);
  config->max_len = kMaxWordChars;
  config->r_name = 0;     // person-name guessing merges unknown characters into made-up words
  config->add_syn = 0;    // synonyms would add words the text does not have
  config->clr_stw = 0;    // the TF-IDF weights already discount common words
  config->keep_urec = 0;
  config->en_sseg = 0;    // only Han runs are given
  friso_set_mode(config, __FRISO_COMPLEX_MODE__);
  s->friso_->config = config;
  friso_dic_t dic = friso_dic_new();
  friso_set_dic(s->friso_->friso, dic);
  std::string path = dir;
  friso_dic_load_from_ifile(s->friso_->friso, config, path.data(), kMaxWordChars * 3);
  if (friso_all_dic_size(dic) == 0) return nullptr;
  return s.release();
}

ChineseSegmenter::~ChineseSegmenter() {
  if (friso_ == nullptr) return;
  if (friso_->config != nullptr) friso_free_config(friso_->config);
  if (friso_->friso != nullptr) friso_free(friso_->friso);
  delete friso_;
}

namespace {

// Appends the characters of `text` to `words`, one word each.
void AddCharacters(std::string_view text, std::vector<std::string>* words) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    DecodeUtf8(text, &pos);
    words->emplace_back(text.substr(start, pos - start));
  }
}

}  // namespace

void ChineseSegmenter::Segment(std::string_view run, std::vector<std::string>* words) const {
  thread_local std::unique_ptr<friso_task_entry, TaskDeleter> task(friso_new_task());
  thread_local std::string text;
  text.assign(run);  // friso reads a NUL-terminated string
  friso_set_text(task.get(), text.data());
  // friso silently drops characters it has no entry for (extension A, the newest ideographs,
  // everything beyond the Basic Multilingual Plane): its words are found in the run in order, and
  // what lies between them goes out character by character.
  size_t done = 0;
  while (friso_->config->next_token(friso_->friso, friso_->config, task.get()) != nullptr) {
    const std::string_view word(task->token->word, strnlen(task->token->word, sizeof(task->token->word)));
    const size_t at = word.empty() ? std::string_view::npos : run.find(word, done);
    if (at == std::string_view::npos) continue;
    AddCharacters(run.substr(done, at - done), words);
    words->emplace_back(word);
    done = at + word.size();
  }
  AddCharacters(run.substr(done), words);
}

}  // namespace kefu
