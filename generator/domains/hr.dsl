# HR: a company's people operations back office.
domain hr
about people operations: departments, positions, employees, leave requests against leave balances, payroll runs and payslips, performance reviews, job openings and applicants, training and expenses
brand PeopleFirst HR | Tandem Workforce | Lattice Point | Brightpath People | Cobalt Staffing Suite

table departments department core rows 6-10 create delete
  label name pick(Engineering|Finance|Human Resources|Marketing|Sales|Customer Support|Legal|Operations|Procurement|Product|Data Analytics|Facilities|Security|Research|Internal Audit|Corporate Communications|Quality Assurance|Supply Chain)
  col cost_center code(CC)
  col annual_budget money(200000,3000000) opt edit
  col location city opt edit
  col head_of_department person opt edit

table positions position core rows 10-18 create
  label title combo(Junior|Senior|Lead|Principal|Associate|Staff ; Accountant|Engineer|Analyst|Recruiter|Designer|Coordinator|Specialist|Consultant)
  ref department_id departments
  col pay_grade enum(g1,g2,g3,g4,g5,g6) edit
  col salary_min money(40000,90000) edit
  col salary_max money(90000,220000) opt edit
  col remote_eligible bool opt edit
  status status active:6 frozen:1 eliminated:1
  action freeze "freeze hiring for {it}" active -> frozen
  action unfreeze "unfreeze {it}" frozen -> active
  action eliminate "eliminate {it}" active,frozen -> eliminated

table employees employee core rows 24-40 create
  label full_name person
  col email email
  col phone phone opt edit
  ref department_id departments
  ref position_id positions
  col employee_number code(EMP)
  col hire_date pastdate(3000)
  col employment_type enum(full_time,part_time,contractor,intern) edit
  col annual_salary money(38000,210000) edit
  col leave_balance_days int(0,30) edit
  col office_city city opt edit
  status status active:10 on_leave:2 suspended:1 terminated:1
  action place_on_leave "place {it} on leave" active -> on_leave
  action return_from_leave "mark {it} as back from leave" on_leave -> active
  action suspend "suspend {it}" active -> suspended
  action terminate "terminate the employment of {it}" active,on_leave,suspended -> terminated

table leave_requests leave_request core rows 18-32 create
  label request_number code(LR)
  ref employee_id employees consumes leave_balance_days by days_requested
  col days_requested int(1,10)
  col leave_type enum(vacation,sick,parental,bereavement,unpaid,jury_duty)
  col starts_on futuredate(60) edit
  col note pick(Family trip|Medical appointment|Moving house|Wedding|Personal matters|Conference travel|School holidays) opt edit
  status status pending:4 approved:5 rejected:1 cancelled:1
  action approve "approve {it}" pending -> approved
  action reject "reject {it}" pending -> rejected
  action cancel "cancel {it}" pending,approved -> cancelled

table payroll_runs payroll_run core rows 5-10 create
  label run_number code(PAY)
  col pay_date futuredate(30) edit
  col frequency enum(weekly,biweekly,semimonthly,monthly)
  col total_gross money(80000,900000)
  col employee_count int(10,400) opt
  status status draft:3 approved:2 processed:4 cancelled:1
  action approve "approve {it}" draft -> approved
  action process "process {it}" approved -> processed
  action cancel "cancel {it}" draft,approved -> cancelled

table job_openings job_opening core rows 6-12 create
  label requisition_number code(REQ)
  ref position_id positions
  col headcount int(1,5) edit
  col hiring_manager person edit
  col location city
  col work_mode enum(onsite,hybrid,remote) edit
  col closes_on futuredate(60) opt edit
  status status open:5 on_hold:2 filled:2 closed:1
  action put_on_hold "put {it} on hold" open -> on_hold
  action reopen "reopen {it}" on_hold -> open
  action close "close {it}" open,on_hold -> closed

table applicants applicant core rows 14-26 create
  label full_name person
  ref job_opening_id job_openings
  col email email
  col phone phone opt edit
  col source enum(referral,job_board,career_site,agency,linkedin)
  col years_experience int(0,25) opt
  col expected_salary money(35000,200000) opt edit
  status status applied:5 screening:3 interviewing:3 offered:1 hired:1 rejected:2
  action screen "move {it} to phone screening" applied -> screening
  action invite_to_interview "invite {it} to interview" screening -> interviewing
  action extend_offer "extend an offer to {it}" interviewing -> offered
  action reject "reject {it}" applied,screening,interviewing -> rejected

table payslips payslip rows 10-24 create
  label slip_number code(PS)
  ref payroll_run_id payroll_runs
  ref employee_id employees
  col gross_pay money(1500,12000)
  col net_pay money(1000,9000)
  col tax_withheld money(200,3000) opt
  status status issued:6 void:1
  action void "void {it}" issued -> void
  action reissue "reissue {it}" void -> issued

table performance_reviews performance_review rows 8-18 create
  label review_code code(REV)
  ref employee_id employees
  col review_period enum(q1,q2,q3,q4,annual)
  col rating int(1,5) edit
  col goals_met int(0,10) opt edit
  col due_on futuredate(45) opt edit
  status status scheduled:3 in_progress:2 submitted:3 acknowledged:2
  action start "start {it}" scheduled -> in_progress
  action submit "submit {it}" in_progress -> submitted
  action acknowledge "mark {it} as acknowledged by the employee" submitted -> acknowledged

table training_courses training_course rows 4-8 create delete
  label title pick(Workplace Safety|Data Privacy Essentials|Leadership Foundations|Anti-Harassment Training|Excel for Analysts|Giving Effective Feedback|Project Management Basics|Inclusive Hiring|Cybersecurity Awareness|Presentation Skills|First Aid Certification|Time Management|Negotiation Skills|Manager Onboarding)
  col duration_hours int(1,16) edit
  col delivery enum(online,classroom,blended)
  col provider company opt
  status status scheduled:4 completed:2 cancelled:1
  action cancel "cancel {it}" scheduled -> cancelled
  action complete "mark {it} as completed" scheduled -> completed

table expense_claims expense_claim rows 6-14 create
  label claim_number code(EXP)
  ref employee_id employees
  col category enum(travel,meals,lodging,equipment,training,mileage)
  col amount money(15,2500) edit
  col submitted_on pastdate(30)
  col receipt_attached bool opt
  status status submitted:4 approved:3 reimbursed:3 rejected:1
  action approve "approve {it}" submitted -> approved
  action reject "reject {it}" submitted -> rejected
  action reimburse "reimburse {it}" approved -> reimbursed
