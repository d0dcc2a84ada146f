DROP TABLE sms_gateways;
