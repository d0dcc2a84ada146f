DROP TABLE processors;
