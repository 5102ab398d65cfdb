-- +goose Up
-- Events that were stored but not applied to a window because they arrived
-- after the window's allowed lateness. A batch recomputation of window
-- reports leaves these (msg_id, report_type) pairs out, as the stream did.
CREATE TABLE late_event_info (
    kind          text        NOT NULL,
    msg_id        text        NOT NULL,
    report_type   text        NOT NULL,
    created_at    timestamptz NOT NULL,
    load_dts      timestamptz NOT NULL,
    record_source text        NOT NULL,
    PRIMARY KEY (report_type, kind, msg_id)
);

-- +goose Down
DROP TABLE late_event_info;
