#include "core/catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/file_util.h"
#include "core/unicode.h"
#include "tests/testing/test_util.h"

namespace simsearch {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(HtmlEntities, DecodesNamedAndNumericReferences) {
  EXPECT_EQ(DecodeHtmlEntities("Gintama&#039;"), "Gintama'");
  EXPECT_EQ(DecodeHtmlEntities("Tom &amp; Jerry &quot;x&quot; &lt;3 &gt;"),
            "Tom & Jerry \"x\" <3 >");
  EXPECT_EQ(DecodeHtmlEntities("&#x27;&#233;&#x1F600;"), "'\xC3\xA9\xF0\x9F\x98\x80");
  // Not references: kept as written.
  EXPECT_EQ(DecodeHtmlEntities("AT&T & co; &unknown; &#xZZ; &"), "AT&T & co; &unknown; &#xZZ; &");
}

TEST(Unicode, FoldsCaseAccentsAndWidth) {
  EXPECT_EQ(FoldCaseAndAccents("Pokémon"), "pokemon");
  EXPECT_EQ(FoldCaseAndAccents("ＣＯＷＢＯＹ Bebop"), "cowboy bebop");
  EXPECT_EQ(FoldCaseAndAccents("ÀÉÎÕÜ"), "aeiou");
}

TEST(Catalog, MergesFilesFieldByFieldEarlierFirst) {
  testing::TempDir dir;
  // The 2017 catalogue layout (no English titles).
  ASSERT_TRUE(WriteStringToFile(dir.Join("a.csv"),
                                "anime_id,name,genre,type,episodes,rating,members\n"
                                "1,Cowboy Bebop,\"Action, Adventure, Sci-Fi\",TV,26,8.82,486824\n"
                                "9969,Gintama&#039;,\"Action, Comedy\",TV,51,9.16,151266\n"
                                "30,Unknown Eps,Drama,Movie,Unknown,7,100\n")
                  .ok());
  // The synopsis file layout: English titles, and an anime newer than the catalogue.
  ASSERT_TRUE(
      WriteStringToFile(dir.Join("b.csv"),
                        "anime_id,name,english_name,type,episodes,genres,synopsis,synopsis_source\n"
                        "1,Cowboy Bebop (other),Cowboy Bebop,TV,26.0,\"Action, Award "
                        "Winning\",\"Crime is\ntimeless.\",x\n"
                        "50000,Newer Show,The Newer Show,ONA,12.0,Comedy,\"text\",y\n"
                        "30,Unknown Eps,,UNKNOWN,3.0,,,z\n")
          .ok());
  auto c = Catalog::Load({dir.Join("a.csv"), dir.Join("b.csv")});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->size(), 4u);
  const Item* bebop = c->Find(1);
  ASSERT_NE(bebop, nullptr);
  EXPECT_EQ(bebop->title, "Cowboy Bebop");          // first file wins
  EXPECT_EQ(bebop->english_title, "Cowboy Bebop");  // filled from the second
  EXPECT_THAT(bebop->genres, ElementsAre("Action", "Adventure", "Sci-Fi"));
  EXPECT_EQ(bebop->episodes, 26);
  EXPECT_EQ(bebop->members, 486824);
  EXPECT_EQ(c->Find(9969)->title, "Gintama'");
  const Item* newer = c->Find(50000);
  ASSERT_NE(newer, nullptr);
  EXPECT_EQ(newer->english_title, "The Newer Show");
  EXPECT_EQ(newer->type, "ONA");
  EXPECT_EQ(newer->episodes, 12);
  EXPECT_EQ(c->Find(30)->episodes, 3) << "'Unknown' is unknown, so the later file fills it";
  EXPECT_EQ(c->Find(30)->type, "Movie");
  EXPECT_EQ(c->Find(12345), nullptr);
  // Sorted by id.
  EXPECT_EQ(c->items().front().id, 1);
  EXPECT_EQ(c->items().back().id, 50000);
}

// The 2024 layout's MAL fields (start date, age rating, studios, franchise, cover),
// and members: the largest count any file gives.
TEST(Catalog, LabelsAreEverySourcesGenresInOneSpelling) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("a.csv"),
                                "anime_id,name,genre\n1,A,\"Action, Shoujo Ai\"\n2,B,Yaoi\n")
                  .ok());
  ASSERT_TRUE(
      WriteStringToFile(dir.Join("b.csv"),
                        "anime_id,name,genres\n1,A,\"Girls Love, Isekai, action\"\n3,C,\"\"\n")
          .ok());
  auto c = Catalog::Load({dir.Join("a.csv"), dir.Join("b.csv")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->Find(1)->genres,
              ElementsAre("Action", "Shoujo Ai"));  // the first source's, as shown
  EXPECT_THAT(c->Find(1)->labels, ElementsAre("action", "girls love", "isekai"));
  EXPECT_THAT(c->Find(2)->labels, ElementsAre("boys love"));
  EXPECT_TRUE(c->Find(3)->labels.empty());
  EXPECT_EQ(GenreLabel(" Shounen Ai "), "boys love");
  EXPECT_EQ(GenreLabel("Sci-Fi"), "sci-fi");
}

TEST(Catalog, ReadsMalFieldsAndTheNewestMembers) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("old.csv"),
                                "anime_id,name,genre,type,episodes,rating,members\n"
                                "1,Cowboy Bebop,Action,TV,26,8.82,486824\n")
                  .ok());
  ASSERT_TRUE(WriteStringToFile(
                  dir.Join("new.csv"),
                  "anime_id,name,english_name,type,episodes,genres,start_date,age_rating,nsfw,"
                  "members,score,"
                  "studios,related,image_url,sources\n"
                  "1,Cowboy Bebop,,TV,26,Action,1998-04-03,r,white,1876957,8.75,Sunrise,5 4037 1 x,"
                  "https://cdn.myanimelist.net/images/anime/4/19644l.webp,malapi2024\n"
                  "52991,Sousou no Frieren,Frieren: Beyond Journey's End,TV,28,\"Adventure, "
                  "Drama\",2023-09-29,pg_13,,"
                  "1288804,9.29,\"Madhouse, Other Studio\",56805,,jikan2026\n"
                  "60000,No Date,,TV,,,,,,,,,,,x\n")
                  .ok());
  auto c = Catalog::Load({dir.Join("old.csv"), dir.Join("new.csv")});
  ASSERT_TRUE(c.ok()) << c.status();
  const Item* bebop = c->Find(1);
  EXPECT_EQ(bebop->members, 1876957) << "the newer, larger count";
  EXPECT_EQ(bebop->start_date, "1998-04-03");
  EXPECT_EQ(bebop->start_year(), 1998);
  EXPECT_EQ(bebop->age_rating, "r");
  EXPECT_THAT(bebop->studios, ElementsAre("Sunrise"));
  EXPECT_THAT(bebop->related, ElementsAre(5, 4037)) << "itself and non-numbers are dropped";
  EXPECT_EQ(bebop->image_url, "https://cdn.myanimelist.net/images/anime/4/19644l.webp");
  const Item* frieren = c->Find(52991);
  EXPECT_THAT(frieren->studios, ElementsAre("Madhouse", "Other Studio"));
  EXPECT_EQ(frieren->start_year(), 2023);
  EXPECT_EQ(c->Find(60000)->start_year(), 0);
  // The score goes with the largest member count: the 2024 snapshot's 8.75, not the
  // 2017 file's 8.82 that comes first.
  EXPECT_DOUBLE_EQ(bebop->mal_score, 8.75);
  EXPECT_DOUBLE_EQ(frieren->mal_score, 9.29);
  EXPECT_EQ(c->Find(60000)->mal_score, 0) << "unknown";
  EXPECT_EQ(bebop->season(), "spring") << "April";
  EXPECT_EQ(frieren->season(), "fall") << "29 September: a premiere in the season's last week";
}

// The score goes with the largest member count among the records that have a score: a
// newer record without a score does not keep an older score against a newer one.
TEST(Catalog, TheScoreIsTheLargestScoredSnapshots) {
  testing::TempDir dir;
  ASSERT_TRUE(
      WriteStringToFile(dir.Join("a.csv"), "anime_id,name,score,members\n1,A,8.0,100\n").ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("b.csv"), "anime_id,name,score,members\n1,A,,500\n").ok());
  ASSERT_TRUE(
      WriteStringToFile(dir.Join("c.csv"), "anime_id,name,score,members\n1,A,7.5,300\n").ok());
  auto c = Catalog::Load({dir.Join("a.csv"), dir.Join("b.csv"), dir.Join("c.csv")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->Find(1)->mal_score, 7.5);
  EXPECT_EQ(c->Find(1)->members, 500);
}

// MAL's seasons by start month, and what is not a date.
TEST(Catalog, SeasonsByStartMonth) {
  const std::pair<const char*, const char*> cases[] = {{"2023-01-01", "winter"},
                                                       {"2023-03-24", "winter"},
                                                       {"2023-03-25", "spring"},
                                                       {"2023-04", "spring"},
                                                       {"2023-06-24", "spring"},
                                                       {"2023-06-30", "summer"},
                                                       {"2023-07-02", "summer"},
                                                       {"2023-09-03", "summer"},
                                                       {"2023-09-29", "fall"},
                                                       {"2023-10-01", "fall"},
                                                       {"2023-12-31", "fall"},
                                                       {"2023-12", "fall"},
                                                       {"2023-09", "summer"},
                                                       {"2023", ""},
                                                       {"", ""},
                                                       {"2023-13-01", ""},
                                                       {"2023-00-10", ""},
                                                       {"20230401", ""},
                                                       {"2023-x4", ""}};
  for (const auto& [date, season] : cases) {
    Item it;
    it.start_date = date;
    EXPECT_EQ(it.season(), season) << date;
  }
}

// A score outside MAL's 1-10, or not a number, is unknown rather than a wrong score.
TEST(Catalog, ScoresOutsideOneToTenAreUnknown) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("c.csv"),
                                "anime_id,name,score\n1,A,0\n2,B,10.5\n3,C,x\n4,D,1\n5,E,7.456\n")
                  .ok());
  auto c = Catalog::Load({dir.Join("c.csv")});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->Find(1)->mal_score, 0);
  EXPECT_EQ(c->Find(2)->mal_score, 0);
  EXPECT_EQ(c->Find(3)->mal_score, 0);
  EXPECT_DOUBLE_EQ(c->Find(4)->mal_score, 1);
  EXPECT_DOUBLE_EQ(c->Find(5)->mal_score, 7.46) << "two decimals, as MAL shows it";
}

// The content level: the most explicit any source gives. The 2017 file files Nozoki Ana
// under Ecchi and Ai no Kusabi under Yaoi; MAL's 2023 data calls both Erotica.
TEST(Catalog, ContentLevelIsTheMostExplicitAnySourceGives) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("old.csv"),
                                "anime_id,name,genre,type,episodes,rating,members\n"
                                "17157,Nozoki Ana,\"Comedy, Drama, Ecchi\",OVA,1,7,21200\n"
                                "719,Ai no Kusabi,\"Drama, Romance, Yaoi\",OVA,2,7,20964\n"
                                "30,Kirepapa.,\"Comedy, Yaoi\",OVA,2,6,100\n"
                                "1,Cowboy Bebop,Action,TV,26,8.82,486824\n"
                                "2,Hentai Title,Hentai,OVA,1,6,100\n")
                  .ok());
  ASSERT_TRUE(WriteStringToFile(dir.Join("new.csv"),
                                "anime_id,name,genres,age_rating,nsfw\n"
                                "17157,Nozoki Ana,\"Drama, Erotica\",r+,\n"
                                "719,Ai no Kusabi,\"Boys Love, Erotica\",r+,\n"
                                "1,Cowboy Bebop,Action,r,white\n"
                                "3,Rated Rx,Fantasy,rx,\n"
                                "4,Rated R+,Comedy,r+,\n"
                                "5,Gray,Comedy,pg_13,gray\n"
                                "6,For Kids,\"Kids, Comedy\",pg_13,white\n"
                                "7,Rated G,Adventure,g,white\n")
                  .ok());
  auto c = Catalog::Load({dir.Join("old.csv"), dir.Join("new.csv")});
  ASSERT_TRUE(c.ok()) << c.status();
  auto level = [&](int64_t id) { return c->Find(id)->content; };
  EXPECT_EQ(level(17157), ContentLevel::kAdult) << "Erotica in the later file wins over Ecchi";
  EXPECT_EQ(c->Find(17157)->genres, (std::vector<std::string>{"Comedy", "Drama", "Ecchi"}))
      << "the genres stay the first file's";
  EXPECT_EQ(level(719), ContentLevel::kAdult);
  EXPECT_EQ(level(30), ContentLevel::kMature) << "Yaoi: explicit boys' love";
  EXPECT_EQ(level(1), ContentLevel::kGeneral);
  EXPECT_EQ(level(2), ContentLevel::kAdult);
  EXPECT_EQ(level(3), ContentLevel::kAdult);
  EXPECT_EQ(level(4), ContentLevel::kMature);
  EXPECT_EQ(level(5), ContentLevel::kMature);
  EXPECT_EQ(c->Find(5)->nsfw, "gray");
  EXPECT_EQ(level(6), ContentLevel::kGeneral);
  EXPECT_TRUE(c->Find(6)->all_ages()) << "Kids";
  EXPECT_TRUE(c->Find(7)->all_ages()) << "rated G";
  EXPECT_FALSE(c->Find(1)->all_ages());
  EXPECT_FALSE(c->Find(5)->all_ages());
  // Names round-trip; anything else is not a level.
  for (ContentLevel l : {ContentLevel::kGeneral, ContentLevel::kMature, ContentLevel::kAdult}) {
    EXPECT_EQ(ParseContentLevel(ContentLevelName(l)), l);
  }
  EXPECT_EQ(ParseContentLevel("ADULT"), ContentLevel::kAdult);
  EXPECT_EQ(ParseContentLevel("nsfw"), std::nullopt);
  // Items built in code get their level from their fields, too.
  Item hentai;
  hentai.id = 9;
  hentai.genres = {"hentai"};
  auto built = Catalog::FromItems({hentai});
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(built->Find(9)->content, ContentLevel::kAdult);
}

TEST(Catalog, ErrorsNameFileAndLine) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("noid.csv"), "name,genre\nx,y\n").ok());
  EXPECT_THAT(Catalog::Load({dir.Join("noid.csv")}).status().message(), HasSubstr("no id column"));
  ASSERT_TRUE(WriteStringToFile(dir.Join("badid.csv"), "anime_id,name\n1,a\nabc,b\n").ok());
  EXPECT_THAT(Catalog::Load({dir.Join("badid.csv")}).status().message(),
              HasSubstr("badid.csv: line 3: id 'abc' is not an integer"));
  EXPECT_EQ(Catalog::Load({dir.Join("missing.csv")}).status().code(), absl::StatusCode::kNotFound);
}

// An unquoted comma in a title shifts title, genres and type; a short record loses
// fields; a file without titles names nothing. Each is an error naming file and line,
// or (asked for) a reported skip.
TEST(Catalog, RecordsOfTheWrongShapeAreErrorsOrReportedSkips) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteStringToFile(dir.Join("comma.csv"),
                                "anime_id,name,genre,type\n"
                                "1,Cowboy Bebop,\"Action, Sci-Fi\",TV\n"
                                "2,Hello, World,Drama,Movie\n"
                                "3,Trigun,Action,TV\n")
                  .ok());
  auto st = Catalog::Load({dir.Join("comma.csv")}).status();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("comma.csv: line 3: 5 fields, the header has 4"));
  EXPECT_THAT(st.message(), HasSubstr("unquoted comma"));
  ASSERT_TRUE(
      WriteStringToFile(dir.Join("short.csv"), "anime_id,name,genre,type\n1,Cowboy Bebop\n").ok());
  EXPECT_THAT(Catalog::Load({dir.Join("short.csv")}).status().message(),
              HasSubstr("short.csv: line 2: 2 fields, the header has 4"));
  ASSERT_TRUE(WriteStringToFile(dir.Join("notitle.csv"), "anime_id,genre\n1,Action\n").ok());
  EXPECT_THAT(Catalog::Load({dir.Join("notitle.csv")}).status().message(),
              HasSubstr("no title column"));

  CatalogOptions skip;
  skip.skip_bad_rows = true;
  auto c = Catalog::Load({dir.Join("comma.csv")}, skip);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->size(), 2u);
  EXPECT_EQ(c->Find(2), nullptr);
  EXPECT_EQ(c->Find(3)->type, "TV");
  ASSERT_EQ(c->skipped().size(), 1u);
  EXPECT_THAT(c->skipped()[0], HasSubstr("line 3"));
}

}  // namespace
}  // namespace simsearch
