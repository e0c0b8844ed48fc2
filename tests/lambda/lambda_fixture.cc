#include "tests/lambda/lambda_fixture.h"

#include <fstream>

#include "core/npy.h"
#include "indexer/indexer.h"
#include "models/text/encoder.h"
#include "models/text/sif.h"

namespace simsearch::testing {

bool BuildTinyAnimeBundle(const std::string& root, const std::string& work) {
  struct Anime {
    int64_t id;
    const char* title;
    const char* english;
    const char* genres;
    const char* story;
    const char* score;  // MAL's mean score; "" unknown
    const char* start;  // start date; "" unknown
  };
  const Anime anime[] = {
      {1, "Cowboy Bebop", "Cowboy Bebop", "Action, Sci-Fi, Space",
       "bounty hunters chase criminals across space", "8.75", "1998-04-03"},
      {5, "Cowboy Bebop: Tengoku no Tobira", "Cowboy Bebop: The Movie", "Action, Sci-Fi, Space",
       "bounty hunters in space chase a terrorist on mars", "8.38", "2001-09-01"},
      {6, "Trigun", "Trigun", "Action, Sci-Fi", "a gunman wanders a desert planet", "8.22",
       "1998-04-01"},
      {20, "Naruto", "Naruto", "Action, Shounen", "a young ninja wants to lead his village", "",
       "2002-10-03"},
      {5680, "K-On!", "K-ON!", "Comedy, Music", "high school girls play music in a club", "7.86",
       "2009"},
  };
  std::vector<std::string> stories;
  std::vector<int64_t> ids;
  std::ofstream cat(work + "/tiny_catalog.csv");
  cat << "anime_id,name,english_name,genre,type,episodes,members,score,start_date,studios,"
         "image_url,age_rating\n";
  for (const Anime& a : anime) {
    stories.push_back(a.story);
    ids.push_back(a.id);
    cat << a.id << ",\"" << a.title << "\",\"" << a.english << "\",\"" << a.genres << "\",TV,12,"
        << 1000 + a.id << "," << a.score << "," << a.start << ",\"Studio " << a.id
        << ", Sunrise\",https://cdn.example/anime/" << a.id << ".jpg,"
        << (a.id == 1 || a.id == 5 ? "r" : "pg_13") << "\n";
  }
  cat.close();
  const std::string data = SIMSEARCH_TEST_DATA;
  if (!text::SifEncoder::Import(data + "/glove/glove_twitter_25d_12k.txt", work + "/glove", "test")
           .ok())
    return false;
  auto raw = text::SifEncoder::Load(work + "/glove");
  if (!raw.ok() || !(*raw)->FitAndSave(stories, work + "/tiny_encoder").ok()) return false;
  auto enc = text::LoadEncoder(work + "/tiny_encoder");
  std::vector<float> v;
  if (!enc.ok() || !(*enc)->Encode(stories, &v).ok()) return false;
  if (!WriteNpyFloat32(work + "/tiny.npy", v.data(), ids.size(), 25).ok()) return false;
  if (!WriteNpyInt64(work + "/tiny_ids.npy", ids.data(), ids.size()).ok()) return false;
  BuildOptions o;
  o.collection = "tiny";
  o.vectors_path = work + "/tiny.npy";
  o.ids_path = work + "/tiny_ids.npy";
  o.catalog_paths = {work + "/tiny_catalog.csv"};
  o.encoder_dir = work + "/tiny_encoder";
  // K-On! (5680) has a vector predicted from content; the others learned ones.
  {
    std::ofstream prov(work + "/tiny_provenance.csv");
    prov << "anime_id,source,viewers\n1,learned,120\n5,learned,40\n6,learned,60\n20,learned,"
            "300\n5680,predicted,2\n";
  }
  o.item_provenance_path = work + "/tiny_provenance.csv";
  o.out_root = root;
  return BuildBundle(o).ok();
}

}  // namespace simsearch::testing
