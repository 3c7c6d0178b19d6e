DROP TABLE talents;
DROP TABLE investor_figures;
DROP TABLE investor_follow_ups;
DROP TABLE investor_contacts;
DROP TABLE investors;
