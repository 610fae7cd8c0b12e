// fastText peer of `tools/bench peers`: trains a supervised fastText model in-process (Debian's
// libfasttext, the library behind the `fasttext` command) and measures it as kefu is measured.
// Built by tools/bench_peers/peers.py with g++ -O2 ... -lfasttext; not part of kefu's build.
//   fasttext_peer TRAIN.txt QUESTIONS.tsv SCORES.tsv LATENCIES.txt [fastText training flags...]
// TRAIN.txt is fastText's format (__label__X text, already preprocessed); QUESTIONS.tsv is
// "gold<TAB>raw text" per line. Prints one JSON line: {"train_seconds": ...}.
// Latency: per single question, the preprocessing (as for training) plus predictLine, timed
// one question at a time over three rounds; the first round (a warm-up) is not kept.
#include <fasttext/args.h>
#include <fasttext/autotune.h>
#include <fasttext/fasttext.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The preprocessing of fastText's own supervised tutorial: punctuation apart, lower case.
std::string Preprocess(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == '.' || c == '!' || c == '?' || c == ',' || c == '\'' || c == '/' || c == '(' || c == ')' || c == '"') {
      out += ' ';
      out += c;
      out += ' ';
    } else if (c == '\t' || c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: fasttext_peer TRAIN.txt QUESTIONS.tsv SCORES.tsv LATENCIES.txt [flags]\n");
    return 2;
  }
  std::vector<std::string> flags = {"fasttext", "supervised", "-input", argv[1], "-output", "/dev/null"};
  for (int i = 5; i < argc; ++i) flags.push_back(argv[i]);
  fasttext::Args args;
  args.parseArgs(flags);
  fasttext::FastText ft;
  const auto start = std::chrono::steady_clock::now();
  if (args.hasAutotune()) {
    fasttext::Autotune autotune(std::shared_ptr<fasttext::FastText>(&ft, [](fasttext::FastText*) {}));
    autotune.train(args);
  } else {
    ft.train(args);
  }
  const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::vector<std::pair<std::string, std::string>> questions;  // gold, text
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    if (tab != std::string::npos) questions.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  std::ofstream scores(argv[3]), latencies(argv[4]);
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  for (int round = 0; round < 3; ++round) {
    for (const auto& [gold, text] : questions) {
      const auto t0 = std::chrono::steady_clock::now();
      std::istringstream line(Preprocess(text) + "\n");
      ft.predictLine(line, predictions, 1, 0.0f);
      const double micros = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      if (round > 0) latencies << micros << "\n";
      if (round == 0) {
        std::string label = predictions.empty() ? "" : predictions[0].second;
        if (label.rfind("__label__", 0) == 0) label = label.substr(9);
        scores << gold << "\t" << label << "\t" << (predictions.empty() ? -1.0f : predictions[0].first) << "\n";
      }
    }
  }
  std::printf("{\"train_seconds\": %.3f, \"threads\": %d, \"epoch\": %d, \"dim\": %d, \"wordNgrams\": %d, \"minn\": %d, \"maxn\": %d, \"lr\": %.4f}\n",
              train_seconds, args.thread, args.epoch, args.dim, args.wordNgrams, args.minn, args.maxn, args.lr);
  return 0;
}
