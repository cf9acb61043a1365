// The management API: its parsing helpers, and its endpoints end to end over HTTP on an
// in-process broker.

#include "management/api.h"

#include <gtest/gtest.h>

#include "management/authorization.h"
#include "management/json_response.h"
#include "management/policies_api.h"
#include "server/base64.h"
#include "tests/management/http_client.h"
#include "tests/server/broker_fixture.h"

namespace warren::management {
namespace {

namespace http = boost::beast::http;
using test::MakeRequest;

TEST(SplitPath, DecodesSegmentsAndDropsTheQueryAndATrailingSlash) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitPath("/api/policies/%2F/a%20b?x=1"), (V{"api", "policies", "/", "a b"}));
  EXPECT_EQ(SplitPath("/api/policies/"), (V{"api", "policies"}));
  EXPECT_EQ(SplitPath("/api//x"), (V{"api", "", "x"}));
  EXPECT_EQ(SplitPath("/"), V{});
  EXPECT_EQ(SplitPath("/api/%2"), std::nullopt);
  EXPECT_EQ(SplitPath("/api/%zz"), std::nullopt);
}

TEST(Authorization, ParsesBasicCredentials) {
  std::string user, password;
  EXPECT_EQ(ParseBasicCredentials("Basic " + server::Base64Encode("guest:a:b"), &user, &password),
            Credentials::kBasic);
  EXPECT_EQ(user, "guest");
  EXPECT_EQ(password, "a:b");
  EXPECT_EQ(ParseBasicCredentials("basic " + server::Base64Encode("u:"), &user, &password),
            Credentials::kBasic);
  EXPECT_EQ(password, "");
  EXPECT_EQ(ParseBasicCredentials("Bearer abc", &user, &password), Credentials::kOther);
  EXPECT_EQ(ParseBasicCredentials("Basic !!!!", &user, &password), Credentials::kMalformed);
  EXPECT_EQ(ParseBasicCredentials("Basic " + server::Base64Encode("nocolon"), &user, &password),
            Credentials::kMalformed);
}

TEST(Authorization, ManagementTagsFollowRabbitmq) {
  EXPECT_EQ(UserTags("administrator"), std::vector<std::string>{"administrator"});
  EXPECT_EQ(UserTags(" management, policymaker"),
            (std::vector<std::string>{"management", "policymaker"}));
  EXPECT_TRUE(IsManagementUser("monitoring"));
  EXPECT_FALSE(IsManagementUser(""));
  EXPECT_FALSE(IsManagementUser("impersonator"));
  EXPECT_TRUE(IsPolicymaker("management,policymaker"));
  EXPECT_TRUE(IsPolicymaker("administrator"));
  EXPECT_FALSE(IsPolicymaker("management monitoring"));
}

TEST(JsonResponse, EscapesReasonsAsRabbitmqDoes) {
  EXPECT_EQ(EscapeHtml("<<\"a&b\">>"), "&lt;&lt;\"a&amp;b\"&gt;&gt;");
  Response r = ErrorResponse(http::status::bad_request, "bad_request", "<x>");
  EXPECT_EQ(r.body(), R"({"error":"bad_request","reason":"&lt;x&gt;"})");
  EXPECT_EQ(r[http::field::content_type], "application/json");
}

TEST(PoliciesApi, ParsesABodyOrSaysWhyNot) {
  server::Policy p;
  EXPECT_EQ(ParsePolicyBody(R"({"pattern":"^a","definition":{"message-ttl":5},"priority":2,
                               "apply-to":"queues"})",
                            &p),
            std::nullopt);
  EXPECT_EQ(p.pattern, "^a");
  EXPECT_EQ(p.priority, 2);
  EXPECT_EQ(p.apply_to, server::PolicyApplyTo::kQueues);
  EXPECT_EQ(p.definition, nlohmann::json({{"message-ttl", 5}}));
  EXPECT_EQ(ParsePolicyBody("[1]", &p), "not_json");
  EXPECT_EQ(ParsePolicyBody("{", &p), "not_json");
  EXPECT_EQ(ParsePolicyBody("{}", &p), "[{key_missing,pattern},{key_missing,definition}]");
  EXPECT_EQ(ParsePolicyBody(R"({"pattern":1,"definition":{},"priority":"a"})", &p),
            "Validation failed\n\npattern should be a binary but was 1\n"
            "priority should be a number, actually was <<\"a\">>\n");
}

TEST(PoliciesApi, WritesAPolicyInRabbitmqsKeyOrder) {
  server::Policy p{"/",  "p",
                   "^a", server::PolicyApplyTo::kExchanges,
                   3,    nlohmann::json({{"alternate-exchange", "ae"}})};
  EXPECT_EQ(PolicyToJson(p).dump(),
            R"({"vhost":"/","name":"p","pattern":"^a","apply-to":"exchanges",)"
            R"("definition":{"alternate-exchange":"ae"},"priority":3})");
}

// The API on an in-process broker, over HTTP.
class ManagementApi : public test::BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    api_ = std::make_unique<Api>(&broker());
    server_ = std::make_unique<HttpServer>(
        HttpServerOptions{}, [this](Request request, bool from_loopback, Respond respond) {
          api_->Handle(std::move(request), from_loopback, std::move(respond));
        });
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    server_.reset();
    BrokerFixture::TearDown();
  }

  test::HttpResponse Call(http::verb method, std::string target, std::string body = "",
                          std::string credentials = "guest:guest") {
    test::HttpRequest request = MakeRequest(method, std::move(target), std::move(body));
    if (!credentials.empty()) {
      request.set(http::field::authorization, "Basic " + server::Base64Encode(credentials));
    }
    auto response = test::Fetch(server_->port(), request);
    EXPECT_TRUE(response) << "no answer";
    return response ? *response : test::HttpResponse{};
  }

  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(ManagementApi, WhoAmIAndLoginFailures) {
  auto r = Call(http::verb::get, "/api/whoami");
  EXPECT_EQ(r.result(), http::status::ok);
  EXPECT_EQ(r.body(), R"({"name":"guest","tags":["administrator"]})");
  r = Call(http::verb::get, "/api/whoami", "", "guest:wrong");
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_EQ(r.body(), R"({"error":"not_authorized","reason":"Login failed"})");
  EXPECT_EQ(r[http::field::www_authenticate], "Basic realm=\"RabbitMQ Management\"");
  r = Call(http::verb::get, "/api/whoami", "", "");
  EXPECT_EQ(r.result(), http::status::unauthorized);
  EXPECT_EQ(r.body(), "");
}

TEST_F(ManagementApi, UnknownPathsAndMethods) {
  EXPECT_EQ(Call(http::verb::get, "/api/nope").result(), http::status::not_found);
  EXPECT_EQ(Call(http::verb::get, "/api/%zz").result(), http::status::bad_request);
  auto r = Call(http::verb::post, "/api/policies");
  EXPECT_EQ(r.result(), http::status::method_not_allowed);
  EXPECT_EQ(r[http::field::allow], "HEAD, GET, OPTIONS");
}

TEST_F(ManagementApi, PolicyLifecycle) {
  const std::string path = "/api/policies/%2F/p";
  const std::string body = R"({"pattern":"^x$","definition":{"message-ttl":5}})";
  EXPECT_EQ(Call(http::verb::put, path, body).result(), http::status::created);
  EXPECT_EQ(Call(http::verb::put, path, body).result(), http::status::no_content);
  auto r = Call(http::verb::get, "/api/policies");
  EXPECT_EQ(r.body(), R"([{"vhost":"/","name":"p","pattern":"^x$","apply-to":"all",)"
                      R"("definition":{"message-ttl":5},"priority":0}])");
  EXPECT_EQ(Call(http::verb::delete_, path).result(), http::status::no_content);
  EXPECT_EQ(Call(http::verb::get, path).result(), http::status::not_found);
  r = Call(http::verb::put, path, R"({"pattern":"^x$","definition":{"message-ttl":-1}})");
  EXPECT_EQ(r.result(), http::status::bad_request);
  EXPECT_EQ(
      r.body(),
      R"({"error":"bad_request","reason":"Validation failed\n\n-1 is not a valid message TTL\n"})");
}

}  // namespace
}  // namespace warren::management
