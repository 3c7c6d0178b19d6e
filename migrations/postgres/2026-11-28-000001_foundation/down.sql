DROP TABLE audit_events;
DROP TABLE project_stage_history;
DROP TABLE project_investors;
DROP TABLE projects;
DROP TABLE parks;
