// Store: technician prompts and their attachments (schema version 4). Statements are
// prepared per call: a prompt is opened and answered at human speed, and keeping
// them out of Store::Statements keeps this concept in this one file.
#include <openssl/evp.h>

#include <array>

#include "record/codec.hpp"
#include "record/store.hpp"
#include "record/store_statements.hpp"

namespace certlab::record {

namespace {

using sql::Query;
using sql::Transaction;

constexpr std::array<std::string_view, 5> status_names{"open", "answered", "timed_out", "cancelled", "interrupted"};

// Columns in the order read_prompt expects; the device comes from the prompt's run,
// the attachment's description (never its bytes) from the attachments table.
constexpr std::string_view prompt_select =
    "SELECT p.id, p.run_id, r.device_id, p.scenario_id, p.iteration, p.step_index, p.kind, p.message, "
    "p.choices, p.fail_on, p.min, p.max, p.unit, p.on_timeout, p.status, p.opened_at, p.deadline, "
    "p.closed_at, p.answer, p.answered_by, p.comment, p.close_reason, a.name, a.size, a.sha256 "
    "FROM prompts p JOIN runs r ON r.id = p.run_id LEFT JOIN attachments a ON a.prompt_id = p.id ";

std::string now_text() { return format_time(std::chrono::system_clock::now()); }

std::string sha256_hex(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr) != 1)
        throw StoreError("sha256 of attachment: OpenSSL digest failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

TimePoint time_at(const Query& q, int col, const std::string& where) {
    auto t = parse_time(q.text(col));
    if (!t) throw StoreError(where + ": bad time \"" + std::string(q.text(col)) + "\"");
    return *t;
}

std::vector<std::string> names_at(const Query& q, int col, const std::string& where) {
    try {
        return codec::strings_from_json(q.text(col));
    } catch (const std::exception& e) {
        throw StoreError(where + ": " + e.what());
    }
}

Prompt read_prompt(const Query& q) {
    Prompt p;
    p.id = q.int64(0);
    const std::string where = "read prompt " + std::to_string(p.id);
    p.run_id = q.int64(1);
    p.device_id = q.text(2);
    p.scenario_id = q.text(3);
    p.iteration = q.integer(4);
    p.step_index = q.integer(5);
    p.kind = q.text(6);
    p.message = q.text(7);
    p.choices = names_at(q, 8, where);
    p.fail_on = names_at(q, 9, where);
    p.min = q.opt_real(10);
    p.max = q.opt_real(11);
    p.unit = q.text(12);
    p.on_timeout = q.text(13);
    auto status = parse_prompt_status(q.text(14));
    if (!status) throw StoreError(where + ": bad status \"" + std::string(q.text(14)) + "\"");
    p.status = *status;
    p.opened_at = time_at(q, 15, where);
    p.deadline = time_at(q, 16, where);
    if (!q.is_null(17)) p.closed_at = time_at(q, 17, where);
    if (!q.is_null(18)) p.answer = std::string(q.text(18));
    p.answered_by = q.text(19);
    p.comment = q.text(20);
    p.close_reason = q.text(21);
    if (!q.is_null(22)) p.attachment = AttachmentInfo{std::string(q.text(22)), q.int64(23), std::string(q.text(24))};
    return p;
}

}  // namespace

std::string_view to_string(PromptStatus s) { return status_names.at(static_cast<std::size_t>(s)); }

std::optional<PromptStatus> parse_prompt_status(std::string_view s) {
    for (std::size_t i = 0; i < status_names.size(); ++i)
        if (status_names[i] == s) return static_cast<PromptStatus>(i);
    return std::nullopt;
}

void Store::open_prompt(Prompt& p) {
    auto what = [&] { return "open prompt of run " + std::to_string(p.run_id) + " scenario " + p.scenario_id; };
    std::string choices, fail_on;
    try {
        choices = codec::strings_to_json(p.choices);
        fail_on = codec::strings_to_json(p.fail_on);
    } catch (const std::exception& e) {
        throw StoreError(what() + ": " + e.what());
    }
    std::lock_guard lock(stmts_->mutex);
    sql::Stmt s(db_,
                "INSERT INTO prompts (run_id, scenario_id, iteration, step_index, kind, message, choices, fail_on, "
                "min, max, unit, on_timeout, status, opened_at, deadline) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'open', ?13, ?14)");
    Query q(s);
    q.bind(1, p.run_id).bind(2, p.scenario_id).bind(3, p.iteration).bind(4, p.step_index);
    q.bind(5, p.kind).bind(6, p.message).bind(7, choices).bind(8, fail_on);
    q.bind(9, p.min).bind(10, p.max).bind(11, p.unit).bind(12, p.on_timeout);
    q.bind(13, format_time(p.opened_at)).bind(14, format_time(p.deadline));
    q.run(what);
    p.id = sqlite3_last_insert_rowid(db_);
    p.status = PromptStatus::open;
}

bool Store::answer_prompt(std::int64_t id, const PromptAnswer& answer, const std::optional<Attachment>& attachment) {
    auto what = [&] { return "answer prompt " + std::to_string(id); };
    std::string digest;
    if (attachment) {
        if (attachment->content.size() > max_attachment_bytes)
            throw StoreError(what() + ": attachment of " + std::to_string(attachment->content.size()) +
                             " bytes exceeds the limit of " + std::to_string(max_attachment_bytes) + " bytes");
        digest = sha256_hex(attachment->content);  // before the lock: it is the slow part
    }
    std::lock_guard lock(stmts_->mutex);
    Transaction tx(stmts_->tx, Transaction::Kind::write, what);
    {
        sql::Stmt s(db_,
                    "UPDATE prompts SET status = 'answered', answer = ?2, answered_by = ?3, comment = ?4, "
                    "closed_at = ?5 WHERE id = ?1 AND status = 'open'");
        Query q(s);
        q.bind(1, id).bind(2, answer.answer).bind(3, answer.by).bind(4, answer.comment);
        q.bind(5, format_time(answer.at));
        if (q.run(what) == 0) return false;  // rolled back: nothing was written
    }
    if (attachment) {
        sql::Stmt s(db_,
                    "INSERT INTO attachments (prompt_id, name, size, sha256, content, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
        Query q(s);
        q.bind(1, id).bind(2, attachment->name).bind(3, static_cast<std::int64_t>(attachment->content.size()));
        q.bind(4, digest).bind_blob(5, attachment->content).bind(6, format_time(answer.at));
        q.run(what);
    }
    tx.commit(what);
    return true;
}

bool Store::close_prompt(std::int64_t id, PromptStatus status, const std::string& reason) {
    auto what = [&] { return "close prompt " + std::to_string(id) + " as " + std::string(to_string(status)); };
    if (status == PromptStatus::open || status == PromptStatus::answered)
        throw StoreError(what() + ": a prompt is closed as timed_out, cancelled or interrupted");
    std::lock_guard lock(stmts_->mutex);
    sql::Stmt s(db_,
                "UPDATE prompts SET status = ?2, close_reason = ?3, closed_at = ?4 WHERE id = ?1 AND status = 'open'");
    Query q(s);
    q.bind(1, id).bind(2, to_string(status)).bind(3, reason).bind(4, now_text());
    return q.run(what) > 0;
}

int Store::close_open_prompts(const std::string& reason) {
    const char* what = "close prompts left open";
    std::lock_guard lock(stmts_->mutex);
    sql::Stmt s(db_,
                "UPDATE prompts SET status = 'interrupted', close_reason = ?1, closed_at = ?2 WHERE status = 'open'");
    Query q(s);
    q.bind(1, reason).bind(2, now_text());
    return q.run(what);
}

std::vector<Prompt> Store::list_prompts(bool open_only, std::optional<std::int64_t> run_id, int limit) const {
    const std::string what = "list prompts";
    std::lock_guard lock(stmts_->mutex);
    sql::Stmt s(db_, std::string(prompt_select) +
                         "WHERE (?1 = 0 OR p.status = 'open') AND (?2 IS NULL OR p.run_id = ?2) "
                         "ORDER BY p.id DESC LIMIT ?3");
    Query q(s);
    q.bind(1, open_only).bind(2, run_id).bind(3, limit);
    std::vector<Prompt> out;
    while (q.step(what)) out.push_back(read_prompt(q));
    return out;
}

std::optional<Prompt> Store::get_prompt(std::int64_t id) const {
    const std::string what = "read prompt " + std::to_string(id);
    std::lock_guard lock(stmts_->mutex);
    sql::Stmt s(db_, std::string(prompt_select) + "WHERE p.id = ?1");
    Query q(s);
    q.bind(1, id);
    if (!q.step(what)) return std::nullopt;
    return read_prompt(q);
}

std::optional<Attachment> Store::get_attachment(std::int64_t prompt_id) const {
    const std::string what = "read attachment of prompt " + std::to_string(prompt_id);
    std::lock_guard lock(stmts_->mutex);
    sql::Stmt s(db_, "SELECT name, content FROM attachments WHERE prompt_id = ?1");
    Query q(s);
    q.bind(1, prompt_id);
    if (!q.step(what)) return std::nullopt;
    return Attachment{std::string(q.text(0)), std::string(q.blob(1))};
}

}  // namespace certlab::record
